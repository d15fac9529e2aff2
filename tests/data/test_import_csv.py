"""Reading an import file: the quick reader of unquoted files (pandas' C parser) gives
exactly what the csv module gives, cell for cell and line for line, or steps aside.

Line numbers are physical lines (the header is line 1); the expected values of the
first tests are read off the files by hand.
"""

from __future__ import annotations

import numpy as np
import pytest

from data.imports import import_csv
from data.imports.import_csv import RowError, read_table

HEADER = "patient_id,clinic,infusion_number,timepoint,date,instrument,item_1"
ROW = "P1,A,1,pre,2024-06-01,PHQ-9,2"


def _both(raw: bytes, monkeypatch: pytest.MonkeyPatch):
    quick = read_table(raw)
    with monkeypatch.context() as patched:
        patched.setattr(import_csv, "_simple_records", lambda text, width: None)
        reference = read_table(raw)
    return quick, reference


def _same(quick, reference) -> None:
    assert quick.frame.equals(reference.frame)
    assert list(quick.frame.dtypes) == list(reference.frame.dtypes)
    assert quick.errors == reference.errors and quick.warnings == reference.warnings
    for name, (codes, texts) in quick.factorized.items():  # the cells, as codes
        assert len(set(texts)) == len(texts)
        assert [texts[c] for c in codes] == quick.frame[name].tolist()


def test_blank_rows_are_skipped_and_lines_stay_physical(monkeypatch) -> None:
    raw = f"{HEADER}\r\n{ROW}\r\n\r\n ,  ,\r\n{ROW.replace('P1', 'P2')}\r\n".encode()
    quick, reference = _both(raw, monkeypatch)
    _same(quick, reference)
    assert quick.frame["line"].tolist() == [2, 5]  # lines 3 (empty) and 4 (spaces) skipped
    assert quick.frame["patient_id"].tolist() == ["P1", "P2"]
    assert quick.warnings == ["2 blank row(s) skipped"]


def test_cells_are_stripped_and_short_rows_padded(monkeypatch) -> None:
    raw = f"{HEADER}\n P1 ,A\t,1,pre,2024-06-01,PHQ-9, 2\nP2,A\n".encode()
    quick, reference = _both(raw, monkeypatch)
    _same(quick, reference)
    assert quick.frame.loc[0, ["patient_id", "clinic", "item_1"]].tolist() == ["P1", "A", "2"]
    assert quick.frame.loc[1, ["patient_id", "timepoint", "item_1"]].tolist() == ["P2", "", ""]


CASES = {
    "plain": f"{HEADER}\n{ROW}\n{ROW}\n",
    "no final line end": f"{HEADER}\n{ROW}",
    "carriage returns only": f"{HEADER}\r{ROW}\r\r{ROW}\r",
    "carriage returns, empty first cells": f"{HEADER}\r,A,1\r,,1,pre\r",
    "mixed line ends": f"{HEADER}\r\n{ROW}\n{ROW}\r{ROW}\r\n",
    "trailing blank lines": f"{HEADER}\n{ROW}\n\n\n",
    "blank first data line": f"{HEADER}\n\n{ROW}\n",
    "commas only": f"{HEADER}\n,,,,,,\n{ROW}\n",
    "longer row, empty extras": f"{HEADER}\n{ROW},, ,\n",
    "longer row, a value past the header": f"{HEADER}\n{ROW},x\n{ROW}\n",
    "unnamed and unknown columns": "patient_id,,clinic,notes,infusion_number,timepoint,date,"
                                   "instrument,\nP1,z,A,n,1,pre,2024-06-01,PHQ-9,\n",
    "non-ascii spaces": f"{HEADER}\n\u00a0P1\u3000,A,1,pre,2024-06-01,PHQ-9,2\u2003\n",
    "tabs and form feeds": f"{HEADER}\n\tP1,A\f,1,pre,2024-06-01,PHQ-9,\x1c2\n",
    "inner spaces kept": f"{HEADER},indication\n{ROW},bipolar  depression\n",
    "quoted cells": f'{HEADER}\n"P1","A, B",1,pre,2024-06-01,PHQ-9,"2"\n',
    "quoted line break": f'{HEADER}\n"P\n1",A,1,pre,2024-06-01,PHQ-9,2\n{ROW}\n',
    "semicolons in cells": f"{HEADER}\nP1;x,A,1,pre,2024-06-01,PHQ-9,2\n",
    "hash and apostrophe": f"{HEADER}\n#P1,'A,1,pre,2024-06-01,PHQ-9,2\n",
    "nan-like texts": f"{HEADER}\nNA,nan,NULL,None,N/A,-,#N/A\n",
}


@pytest.mark.parametrize("text", list(CASES.values()), ids=list(CASES))
def test_the_quick_reader_reads_what_the_csv_module_reads(text, monkeypatch) -> None:
    quick, reference = _both(text.encode("utf-8"), monkeypatch)
    _same(quick, reference)


def test_a_value_past_the_header_is_reported_by_either_reader(monkeypatch) -> None:
    quick, _ = _both(CASES["longer row, a value past the header"].encode(), monkeypatch)
    assert quick.errors == [RowError(2, "row", "the row has 8 cells but the header has 7 columns")]


def test_only_plain_files_take_the_quick_reader() -> None:
    width = len(HEADER.split(","))
    for case in ("quoted line break", "longer row, a value past the header",
                 "carriage returns only", "longer row, empty extras", "quoted cells"):
        assert import_csv._simple_records(CASES[case], width) is None, case  # (all quoted)
    few_quoted = f"{HEADER}\n" + f"{ROW}\n" * 5 + '"P9","A, B",1,pre,2024-06-01,PHQ-9,"2"\n'
    columns, lines, _ = import_csv._simple_records(few_quoted, width)
    assert lines.tolist() == [2, 3, 4, 5, 6, 7]
    assert [texts[codes[5]] for codes, texts in columns[:2]] == ["P9", "A, B"]
    assert import_csv._simple_records(few_quoted.replace('"A, B"', 'x"A, B'), width) is None
    assert import_csv._simple_records(f"{HEADER}\nP1,A\n", width) is None  # a short row
    assert import_csv._simple_records(f"{HEADER}\n   \n{ROW}\n", width) is None  # spaces
    columns, lines, blank = import_csv._simple_records(CASES["trailing blank lines"], width)
    assert len(columns) == width and lines.tolist() == [2] and blank == 2
    codes, texts = columns[0]
    assert [texts[c] for c in codes] == ["P1"]


def test_random_files_read_alike(monkeypatch) -> None:
    rng = np.random.default_rng(5)
    pieces = ["", " ", "P1", "PHQ-9", "2", " 3", "x ", "\t", "\u00a0", ";", "#", "'", "-",
              '"a,b"', '""', 'x"y', '"ab"c', ' "q"', '"q" ', '"a""b"', '"']
    for _ in range(80):
        lines = [HEADER]
        rectangular = rng.random() < 0.7  # mostly rows as wide as the header, then
        for _ in range(rng.integers(1, 12)):  # the quick reader is the one tested
            n = 7 if rectangular and rng.random() < 0.9 else int(rng.integers(0, 10))
            cells = rng.choice(pieces if rng.random() < 0.3 else pieces[:13], size=n)
            lines.append(",".join(cells))
        end = str(rng.choice(["\n", "\r\n", "\r"]))
        text = end.join(lines) + (end if rng.random() < 0.7 else "")
        try:
            quick, reference = _both(text.encode("utf-8"), monkeypatch)
        except import_csv.FileError:  # no data rows: both readers refuse
            with monkeypatch.context() as patched:
                patched.setattr(import_csv, "_simple_records", lambda text, width: None)
                with pytest.raises(import_csv.FileError):
                    read_table(text.encode("utf-8"))
            continue
        _same(quick, reference)
