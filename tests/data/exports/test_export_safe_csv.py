"""CSV formula injection (OWASP): dangerous text is prefixed with a quote and quoted;
typed numbers, dates and booleans are written as they are. Expected text by hand."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest

from data.exports.safe_csv import format_cell, is_dangerous, neutralise, write_csv


@pytest.mark.parametrize(
    "text, expected",
    [
        ("=1+2", "\"'=1+2\""),
        ("+1+2", "\"'+1+2\""),
        ("-1+2", "\"'-1+2\""),
        ("@SUM(A1)", "\"'@SUM(A1)\""),
        ('=HYPERLINK("http://x","y")', '"\'=HYPERLINK(""http://x"",""y"")"'),
        ("\tTabbed", "\"'\tTabbed\""),
        ("\rCarriage", "\"'\rCarriage\""),
        ("\nLine", "\"'\nLine\""),
        ("-5", "\"'-5\""),  # text that looks like a number is still text
        ("plain", "plain"),
        ("a,b", '"a,b"'),
        ('say "hi"', '"say ""hi"""'),
        ("1=1", "1=1"),  # only the first character matters
        ("", ""),
    ],
)
def test_text_cells(text, expected):
    assert format_cell(text) == expected


@pytest.mark.parametrize(
    "value, expected",
    [
        (-3, "-3"), (-1.5, "-1.5"), (0, "0"), (2.25, "2.25"), (None, ""), (True, "true"),
        (False, "false"), (date(2024, 3, 4), "2024-03-04"), (float("nan"), ""),
        (datetime(2024, 3, 4, 9, 30, tzinfo=UTC), "2024-03-04T09:30:00+00:00"),
        (datetime(2024, 3, 4, 9, 30), "2024-03-04T09:30:00+00:00"),  # stored UTC, naive
    ],
)
def test_typed_cells_are_not_neutralised(value, expected):
    assert format_cell(value) == expected


def test_is_dangerous_and_neutralise():
    assert [is_dangerous(t) for t in ("=", "+", "-", "@", "\t", "\r", "\n", "a", " =")] == \
        [True] * 7 + [False, False]
    assert neutralise("=x") == "'=x" and neutralise("x") == "x"


def test_write_csv_raw_text_and_round_trip():
    raw = write_csv(["name", "weight"], [["=1+2", -1.5], ["@SUM(A1)", 70], ["\tTab", None]])
    text = raw.decode("utf-8")
    assert text == ("name,weight\n\"'=1+2\",-1.5\n\"'@SUM(A1)\",70\n\"'\tTab\",\n")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1:] == [["'=1+2", "-1.5"], ["'@SUM(A1)", "70"], ["'\tTab", ""]]
    assert not any(is_dangerous(row[0]) for row in rows)  # no text field starts a formula
    assert rows[1][1] == "-1.5"  # the negative number in a numeric column stays a number
