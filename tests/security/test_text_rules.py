"""Issue 15, input: the shared text rule (models/validation.py `check_text`) refuses what
corrupts files downstream, and CSV cells stay inert however a spreadsheet splits them.

Each case says what must happen: `refused` (the rule's message names the problem),
`kept` (accepted as typed) or the neutralised CSV field.
"""

from __future__ import annotations

import csv
import io

import pytest

from data.files.safe_csv import format_cell, write_csv
from models.schemas import PatientIn
from models.validation import InputError, check_text, parse

NONCHARACTERS = [chr(c) for c in range(0xFDD0, 0xFDF0)] + [
    chr(plane << 16 | low) for plane in range(17) for low in (0xFFFE, 0xFFFF)]


def test_there_are_sixty_six_noncharacters():
    assert len(NONCHARACTERS) == 66


@pytest.mark.parametrize("char", NONCHARACTERS, ids=lambda c: f"U+{ord(c):04X}")
def test_every_noncharacter_is_refused(char):
    with pytest.raises(ValueError, match=f"noncharacter \\(U\\+{ord(char):04X}\\)"):
        check_text(f"a{char}b", limit=100, multiline=True)


TEXT_CASES = [
    # (text, multiline, outcome: a fragment of the refusal, or None when kept)
    ("\ud800", False, "lone surrogate (U+D800)"),
    ("x\udfff", True, "lone surrogate (U+DFFF)"),
    ("a\x00b", True, "control character (U+0000)"),
    ("a\x1bb", False, "control character (U+001B)"),  # escape
    ("a\x7fb", False, "control character (U+007F)"),
    ("a\x85b", True, "control character (U+0085)"),  # next line (C1)
    ("a\nb", False, "control character (U+000A)"),
    ("a\u2028b", False, "line separator (U+2028)"),
    ("a\u2029b", False, "line separator (U+2029)"),
    ("a\u2028b", True, None),  # a line break is fine in notes
    ("a\nb\tc", True, None),
    ("Zoë 🇫🇷 👩‍⚕️", False, None),  # emoji sequences and joiners are kept
    ("\U0001FFFD", False, None),  # the neighbour of a noncharacter is a character
    ("x" * 101, False, "101 characters is too long; at most 100"),
]


@pytest.mark.parametrize(("text", "multiline", "refusal"), TEXT_CASES)
def test_text_rule(text, multiline, refusal):
    if refusal is None:
        assert check_text(text, limit=100, multiline=multiline) == text
    else:
        with pytest.raises(ValueError, match=refusal.replace("(", r"\(").replace(")", r"\)")
                           .replace("+", r"\+")):
            check_text(text, limit=100, multiline=multiline)


@pytest.mark.parametrize(("text", "kept_in_free_text"), [
    ("P\u202e100", True), ("P\u200b1", True), ("P\u2066x\u2069", True), ("\ufeffP1", True)])
def test_invisible_characters_are_refused_in_codes_only(text, kept_in_free_text):
    with pytest.raises(ValueError, match="invisible character"):
        check_text(text, limit=64, identifier=True)
    assert check_text(text, limit=64) == text  # a name or a note in Arabic may need them


@pytest.mark.parametrize("field", ["patient_code", "name", "notes", "indication"])
def test_the_patient_form_refuses_a_noncharacter_naming_the_field(field):
    data = {"clinic_id": 1, "patient_code": "P1", field: "x\uffffy"}
    with pytest.raises(InputError) as caught:
        parse(PatientIn, data)
    assert caught.value.fields == [field]


CSV_CASES = [
    # (cell, the CSV field written)
    ("=1+1", "\"'=1+1\""),
    ("a;=1+1", "\"'a;'=1+1\""),
    ("a|@SUM(A1)", "\"'a|'@SUM(A1)\""),
    ("a\t+1", "\"'a\t'+1\""),
    ("a,-1", "\"'a,'-1\""),
    ("a;b", '"a;b"'),  # a separator alone: quoted, so every quote-aware reader keeps one cell
    ("a|b", '"a|b"'),
    ("plain", "plain"),
    ("1;=2;=3", "\"'1;'=2;'=3\""),
]


@pytest.mark.parametrize(("cell", "field"), CSV_CASES)
def test_csv_cells_are_neutralised_for_every_separator(cell, field):
    assert format_cell(cell) == field


@pytest.mark.parametrize("separator", [",", ";", "\t", "|"])
def test_no_split_of_a_written_line_starts_a_formula(separator):
    cells = [c for c, _ in CSV_CASES]
    text = write_csv(["x"] * len(cells), [cells]).decode("utf-8").splitlines()[1]
    # a careless reader that splits on the separator and ignores quotes
    for part in text.split(separator):
        assert not part.strip('"').startswith(("=", "+", "-", "@")), part
    # a quote-aware reader gets the neutralised cells back, one per column
    row = next(csv.reader(io.StringIO(text)))
    assert len(row) == len(cells)
