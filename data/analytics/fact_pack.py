"""A course's lean outcome facts packed into two binary values (``course_outcome_pack``,
migration 0010), so the summary reads one row per course, the pack riding on the read of
the courses it needs anyway, instead of a row per (course, instrument) with twelve values:
the driver builds a Python object per value, and that was most of the summary's cost at
scale L (docs/PERFORMANCE.md).

For each ``course_outcome`` row of the course (by catalogue order, ``CODES``) the pack holds
what ``load_facts(lean=True)`` returns, for every after-N and timepoint rule:

- ``headers``: one ``HEADER``-byte record per row, little-endian: the format version
  (``VERSION``); the instrument's index in ``CODES`` with the flags of ``FLAGS`` as bits 4,
  5, 6; the first infusion's day number (days since 1970-01-01, ``NO_DAY`` when missing);
  the ``FLOATS`` as float64 (NaN when missing); the length of each of
  ``course_facts.MAP_COLUMNS`` below;
- ``maps``: per row, each of the four after-N maps as a dense int16 array indexed by the
  infusion number (``MISSING`` where the map has no entry), in MAP_COLUMNS order.

The headers of many courses, read one after another, are one array of records (no copy
to find a field) and the maps one array of int16: ``decode`` answers every course's
after-N by one index per row.

``encode`` returns None when a course does not fit (an instrument outside the catalogue, a
value that is not a whole number in int16, an infusion number above ``MAX_INFUSION``):
such a course keeps NULL packs and the reader takes the columns instead.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from outcomes.course_facts import MAP_COLUMNS
from outcomes.instruments import INSTRUMENTS

VERSION = 1
CODES = tuple(INSTRUMENTS)
FLAGS = ("any_item9_positive", "later_item9_positive", "day_after_checked")
FLOATS = ("baseline", "baseline_item9", "latest", "last_received", "first_response_received",
          "first_remission_received", "day_after_item9")
NO_DAY = -(2 ** 31)
MISSING = -(2 ** 15)
MAX_INFUSION = 4095
_HEADER = struct.Struct("<BBi7d4H")
HEADER = _HEADER.size
_HEADER_DTYPE = np.dtype([("version", "u1"), ("code", "u1"), ("day", "<i4"),
                          *((name, "<f8") for name in FLOATS),
                          *((f"n_{name}", "<u2") for name in MAP_COLUMNS)])
assert _HEADER_DTYPE.itemsize == HEADER == 70
assert len(CODES) < 16


def encode(rows: Sequence[tuple[str, Mapping[str, Any], int | None]]) -> tuple[bytes, bytes] | None:
    """The (headers, maps) of one course from its rows: (instrument, facts, first infusion's
    day number), ``facts`` holding FLAGS, FLOATS and the MAP_COLUMNS ({"k": value} or None).
    None when a row does not fit."""
    if any(instrument not in CODES for instrument, _, _ in rows):
        return None
    headers, maps = [], []
    for instrument, facts, first_day in sorted(rows, key=lambda row: CODES.index(row[0])):
        code = CODES.index(instrument)
        for bit, flag in enumerate(FLAGS):
            code |= bool(facts[flag]) << (4 + bit)
        floats = [math.nan if facts[name] is None else float(facts[name]) for name in FLOATS]
        lengths = []
        for name in MAP_COLUMNS:
            dense = _dense(facts[name] or {})
            if dense is None:
                return None
            lengths.append(len(dense))
            maps.append(struct.pack(f"<{len(dense)}h", *dense))
        day = NO_DAY if first_day is None else int(first_day)
        headers.append(_HEADER.pack(VERSION, code, day, *floats, *lengths))
    return b"".join(headers), b"".join(maps)


def _dense(mapping: Mapping[str, Any]) -> list[int] | None:
    """{"k": value} as a list indexed by k (MISSING elsewhere); None when it does not fit."""
    pairs = [(int(k), float(v)) for k, v in mapping.items()]
    if not pairs:
        return []
    if any(not (0 <= k <= MAX_INFUSION and v.is_integer() and MISSING < v <= 32_767)
           for k, v in pairs):
        return None
    dense = [MISSING] * (max(k for k, _ in pairs) + 1)
    for k, v in pairs:
        dense[k] = int(v)
    return dense


def decode(headers: pa.Array | pa.ChunkedArray, maps: pa.Array | pa.ChunkedArray,
           timepoint: str, key: int) -> dict[str, np.ndarray]:
    """The rows of many courses' packs (binary, no nulls, one pair per course): ``course``
    (the index of each row's course among the packs), ``code`` (the instrument's index in
    CODES), each of FLAGS (bool), ``first_day`` (int64, NO_DAY when missing), each of FLOATS,
    and ``after_n_total`` / ``after_n_answer``: the value at infusion ``key`` of the
    ``{timepoint}_totals`` / ``{timepoint}_item9`` maps (NaN when absent)."""
    headers, maps = _chunks(headers), _chunks(maps)
    if any(chunk.null_count for chunk in (*headers, *maps)):
        raise ValueError("decode: a NULL pack (read the columns instead)")
    header_bytes = _lengths(headers)
    if bool((header_bytes % HEADER).any()) or bool((header_bytes == 0).any()):
        raise ValueError("decode: a course's headers are not whole records")
    records = _values(headers, _HEADER_DTYPE)
    if bool((records["version"] != VERSION).any()):
        raise ValueError("decode: a pack of another format version")
    counts = np.stack([records[f"n_{name}"].astype("int64") for name in MAP_COLUMNS], axis=1) \
        if len(records) else np.zeros((0, len(MAP_COLUMNS)), dtype="int64")
    course = np.repeat(np.arange(len(header_bytes)), header_bytes // HEADER)
    sizes = counts.sum(axis=1)
    map_bytes = _lengths(maps)
    if not np.array_equal(np.bincount(course, weights=sizes, minlength=len(map_bytes)) * 2,
                          map_bytes):
        raise ValueError("decode: a course's maps do not match its headers")
    values = _values(maps, np.dtype("<i2"))
    first = np.cumsum(sizes) - sizes  # each row's first map value
    code = records["code"].astype("int64")
    out: dict[str, np.ndarray] = {"course": course, "code": code & 15,
                                  "first_day": records["day"].astype("int64")}
    for bit, flag in enumerate(FLAGS):
        out[flag] = (code >> (4 + bit)) & 1 == 1
    for name in FLOATS:
        out[name] = records[name].astype("float64")
    for column, source in (("after_n_total", f"{timepoint}_totals"),
                           ("after_n_answer", f"{timepoint}_item9")):
        which = MAP_COLUMNS.index(source)
        result = np.full(len(records), np.nan)
        has = key < counts[:, which] if key >= 0 else np.zeros(len(records), dtype=bool)
        at = first[has] + counts[has, :which].sum(axis=1) + key
        found = values[at].astype("float64")
        found[found == MISSING] = np.nan
        result[has] = found
        out[column] = result
    return out


def _chunks(column: pa.Array | pa.ChunkedArray) -> list[pa.Array]:
    return list(column.chunks) if isinstance(column, pa.ChunkedArray) else [column]


def _lengths(chunks: list[pa.Array]) -> np.ndarray:
    """Each value's length in bytes, from the chunks' offsets (no nulls: ``decode`` checks)."""
    return np.concatenate([np.zeros(0, dtype="int64"), *(
        np.diff(_offsets(chunk)) for chunk in chunks if len(chunk))]).astype("int64")


def _values(chunks: list[pa.Array], dtype: np.dtype) -> np.ndarray:
    """The values of every chunk, one after another, as an array of ``dtype``: the chunks'
    bytes joined, then viewed as ``dtype`` (a chunk per block of the courses' read is
    ~1,500 chunks at XL: joining them as records cost numpy a field promotion each)."""
    joined = np.concatenate([np.zeros(0, dtype=np.uint8),
                             *(np.frombuffer(_data(chunk), dtype=np.uint8) for chunk in chunks)])
    return joined.view(np.dtype(dtype))


def _offsets(array: pa.Array) -> np.ndarray:
    width = 8 if pa.types.is_large_binary(array.type) else 4
    return np.frombuffer(array.buffers()[1], dtype=f"<i{width}", count=len(array) + 1,
                         offset=array.offset * width)


def _data(array: pa.Array) -> memoryview | bytes:
    """The bytes of a binary array's values, from its first value to its last."""
    data = array.buffers()[2]
    if data is None or not len(array):
        return b""
    bounds = _offsets(array)
    return memoryview(data)[int(bounds[0]):int(bounds[-1])]
