"""CSV formula injection (OWASP): dangerous text is prefixed with a quote and quoted;
typed numbers, dates and booleans are written as they are. Expected text by hand."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import numpy as np
import pyarrow as pa
import pytest

from data.files import frame
from data.files.frame import Coded, objects
from data.files.safe_csv import (
    format_cell,
    is_dangerous,
    neutralise,
    write_csv,
    write_csv_columns,
)


@pytest.mark.parametrize(
    ("text", "expected"),
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
    ("value", "expected"),
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


def _coded(codes, values):
    return Coded(np.array(codes, dtype=np.int32), objects(values))


COURSE = np.array([0, 0, 1, 2, 2], dtype=np.int32)  # two columns share these codes


@pytest.mark.parametrize(("joint_limit", "chunk_rows"), [(1 << 20, 50_000), (2, 50_000), (1, 2)])
def test_write_csv_columns(monkeypatch, joint_limit, chunk_rows):
    """Columns (codes into values) give the same text as the row writer; blocks of joint
    codes and chunks of rows do not change it."""
    monkeypatch.setattr(frame, "JOINT_LIMIT", joint_limit)
    monkeypatch.setattr(frame, "CHUNK_ROWS", chunk_rows)
    columns = [
        Coded(COURSE, objects(["S-1", "+S2", "a,b"])),
        Coded(COURSE, objects(["C1", "C1", "C2"])),
        _coded([1, 0, 1, 0, 1], ["post", "pre"]),
        _coded([0, 0, 0, 1, 1], [1, 2]),
        _coded([0, 1, 2, 0, 1], [None, -3, 10]),
        _coded([0, 1, 0, 1, 0], ["-", "ok "]),
    ]
    header = ["study_id", "clinic", "timepoint", "infusion_number", "total", "severity"]
    assert write_csv_columns(header, columns, 5).decode("utf-8") == (
        "study_id,clinic,timepoint,infusion_number,total,severity\n"
        "S-1,C1,pre,1,,\"'-\"\n"
        "S-1,C1,post,1,-3,\"ok \"\n"
        "\"'+S2\",C1,pre,1,10,\"'-\"\n"
        "\"a,b\",C2,post,2,,\"ok \"\n"
        "\"a,b\",C2,pre,2,-3,\"'-\"\n")


def test_write_csv_columns_matches_the_row_writer():
    raw = write_csv_columns(["name", "weight"], [_coded([0, 1, 2], ["=1+2", "@SUM(A1)", "\tTab"]),
                                                 _coded([1, 0, 2], [70, -1.5, None])], 3)
    assert raw == b"name,weight\n\"'=1+2\",-1.5\n\"'@SUM(A1)\",70\n\"'\tTab\",\n"
    assert write_csv_columns(["a"], [_coded([], [])], 0) == b"a\n"


def test_coded_from_arrow():
    """An Arrow column (chunked, nulls included) becomes one code per distinct value;
    missing becomes None, the last value."""
    chunks = pa.chunked_array([pa.array(["b", None, "a"]), pa.array([None], pa.string()),
                               pa.array(["a", "c"])])
    column = Coded.from_arrow(chunks)
    assert list(column.take()) == ["b", None, "a", None, "a", "c"]
    assert list(column.values) == ["b", "a", "c", None]
