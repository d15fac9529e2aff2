"""The JSON document of a column-wise table is written from its columns: the same bytes as
`json.dumps(document, indent=1, ensure_ascii=False)` of its rows (the stdlib is the
oracle here), whatever the blocks and chunks."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import numpy as np
import pytest

from data.exports.values import json_document
from data.files import frame
from data.files.columns import ColumnSpec
from data.files.frame import Coded, ColumnTable, objects

COURSE = np.array([0, 0, 1, 2], dtype=np.int32)
COLUMNS = (ColumnSpec("study_id", "text", "s"), ColumnSpec("day", "date", "d"),
           ColumnSpec("score", "int", "n"), ColumnSpec("w", "float", "w"),
           ColumnSpec("ok", "bool", "b"), ColumnSpec("at", "datetime", "t"),
           ColumnSpec("note", "text", "n"))
DOCUMENT = {"metadata": {"kind": "scores", "é": "ü"}, "definitions": [{"column": "x"}]}


def _table(n_rows: int = 4) -> ColumnTable:
    data = {
        "study_id": Coded(COURSE, objects(['S-"1"', "Zoë", "=1+1"])),
        "day": Coded(COURSE, objects([date(2024, 3, 4), None, date(2023, 12, 30)])),
        "score": Coded(np.array([1, 0, 2, 1], np.int32), objects([0, -3, None])),
        "w": Coded(np.array([0, 1, 1, 2], np.int32), objects([1.5, float("nan"), None])),
        "ok": Coded(np.array([1, 0, 1, 0], np.int32), objects([True, False])),
        "at": Coded(np.array([0, 0, 1, 1], np.int32), objects(
            [datetime(2024, 3, 4, 9, 30), datetime(2024, 3, 4, 9, 30, 1, 5, tzinfo=UTC)])),
        "note": Coded(np.array([0, 1, 2, 0], np.int32), objects(["a\nb\tc", "", "\\"])),
    }
    if n_rows == 0:
        data = {k: Coded(np.zeros(0, np.int32), v.values) for k, v in data.items()}
    return ColumnTable("scores", COLUMNS, data, n_rows)


def _expected(table: ColumnTable) -> bytes:
    rows = [{name: (v.isoformat() if isinstance(v, date) and not isinstance(v, datetime)
                    else v.replace(tzinfo=UTC).isoformat() if isinstance(v, datetime)
                    and v.tzinfo is None else v.isoformat() if isinstance(v, datetime) else v)
             for name, v in zip(table.column_names, values, strict=True)}
            for values in table.iter_rows(table.column_names)]
    text = json.dumps(DOCUMENT | {"rows": rows}, indent=1, ensure_ascii=False) + "\n"
    return text.encode("utf-8")


@pytest.mark.parametrize(("joint_limit", "chunk_rows"), [(1 << 20, 50_000), (1, 1), (4, 3)])
def test_json_rows_from_columns(monkeypatch, joint_limit, chunk_rows):
    monkeypatch.setattr(frame, "JOINT_LIMIT", joint_limit)
    monkeypatch.setattr(frame, "CHUNK_ROWS", chunk_rows)
    table = _table()
    assert json_document(DOCUMENT, table) == _expected(table)
    assert json.loads(json_document(DOCUMENT, table))["rows"][1]["score"] == 0


def test_json_of_no_rows():
    assert json_document(DOCUMENT, _table(0)).endswith(b'"rows": []\n}\n')
    assert json_document(DOCUMENT, _table(0)) == _expected(_table(0))
