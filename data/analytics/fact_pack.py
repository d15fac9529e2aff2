"""The lean course facts of one ``course_outcome`` row packed into one binary value
(``course_outcome.packed``, migration 0010), so the summary's read asks the driver for two
values per row (course id, pack) instead of twelve: the driver builds a Python object per
value, and that was most of the summary's cost at scale L (docs/PERFORMANCE.md).

A pack holds what ``load_facts(lean=True)`` returns per row, for every after-N and timepoint
rule (the four after-N maps travel whole and are resolved here, in numpy):

- ``HEADER`` (78 bytes, little-endian): the format version (``VERSION``); the course id;
  the instrument's
  index in ``CODES`` with the flags of ``FLAGS`` as bits 4, 5, 6; the first infusion's day
  number (days since 1970-01-01, ``NO_DAY`` when missing); the ``FLOATS`` as float64 (NaN when
  missing); the number of entries of each of ``course_facts.MAP_COLUMNS``;
- then each map's entries in that order, by infusion number: (number uint16, value int16).

``encode`` returns None when a row does not fit (an instrument outside the catalogue, a
value that is not a whole number in int16, an infusion number above 65,535): such a row
keeps a NULL pack and the reader takes the columns instead (``decode`` is never asked to
guess). ``decode`` reads many packs at once from an Arrow binary array's buffers.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from outcomes.course_facts import MAP_COLUMNS
from outcomes.instruments import INSTRUMENTS

VERSION = 1
CODES = tuple(INSTRUMENTS)
FLAGS = ("any_item9_positive", "later_item9_positive", "day_after_checked")
FLOATS = ("baseline", "baseline_item9", "latest", "last_received", "first_response_received",
          "first_remission_received", "day_after_item9")
NO_DAY = -(2 ** 31)
_HEADER = struct.Struct("<BqBi7d4H")
HEADER = _HEADER.size
_ENTRY = struct.Struct("<Hh")
_HEADER_DTYPE = np.dtype([("version", "u1"), ("course", "<i8"), ("code", "u1"),
                          ("day", "<i4"),
                          *((name, "<f8") for name in FLOATS),
                          *((f"n_{name}", "<u2") for name in MAP_COLUMNS)])
assert _HEADER_DTYPE.itemsize == HEADER == 78
assert len(CODES) < 16


def encode(course_id: int, instrument: str, facts: Mapping[str, Any],
           first_day: int | None) -> bytes | None:
    """The pack of one row: ``facts`` holds FLAGS, FLOATS and the MAP_COLUMNS ({"k": value}
    or None); ``first_day`` the first infusion's day number. None when it does not fit."""
    if instrument not in CODES:
        return None
    code = CODES.index(instrument)
    for bit, flag in enumerate(FLAGS):
        code |= bool(facts[flag]) << (4 + bit)
    floats = [math.nan if facts[name] is None else float(facts[name]) for name in FLOATS]
    entries: list[bytes] = []
    counts = []
    for name in MAP_COLUMNS:
        mapping = facts[name] or {}
        counts.append(len(mapping))
        for key, value in sorted((int(k), float(v)) for k, v in mapping.items()):
            if not (0 <= key <= 65_535 and value.is_integer() and -32_768 <= value <= 32_767):
                return None
            entries.append(_ENTRY.pack(key, int(value)))
    if max(counts) > 65_535:
        return None
    day = NO_DAY if first_day is None else int(first_day)
    return _HEADER.pack(VERSION, int(course_id), code, day, *floats, *counts) + b"".join(entries)


def decode(packs: pa.Array | pa.ChunkedArray, timepoint: str, key: int) -> dict[str, np.ndarray]:
    """The columns of many packs (binary, no nulls): ``course_key``, ``code`` (the
    instrument's index in CODES), each of FLAGS (bool), ``first_day`` (int64, NO_DAY when
    missing), each of FLOATS, and ``after_n_total`` / ``after_n_answer``: the value at
    infusion ``key`` of the ``{timepoint}_totals`` / ``{timepoint}_item9`` maps (NaN when
    absent)."""
    if isinstance(packs, pa.ChunkedArray):
        packs = packs.combine_chunks() if packs.num_chunks else pa.array([], pa.binary())
    n = len(packs)
    if packs.null_count:
        raise ValueError("decode: a NULL pack (read the columns instead)")
    lengths = pc.binary_length(packs).to_numpy(zero_copy_only=False).astype("int64")
    if n and bool((lengths < HEADER).any()):
        raise ValueError("decode: a pack shorter than its header")
    fields = np.frombuffer(_data(pc.binary_slice(packs, 0, HEADER)), dtype=_HEADER_DTYPE,
                           count=n)
    if n and bool((fields["version"] != VERSION).any()):
        raise ValueError("decode: a pack of another format version")
    code = fields["code"].astype("int64")
    out: dict[str, np.ndarray] = {"course_key": fields["course"].astype("int64"),
                                  "code": code & 15, "first_day": fields["day"].astype("int64")}
    for bit, flag in enumerate(FLAGS):
        out[flag] = (code >> (4 + bit)) & 1 == 1
    for name in FLOATS:
        out[name] = fields[name].astype("float64")
    counts = [fields[f"n_{name}"].astype("int64") for name in MAP_COLUMNS]
    if n and bool((sum(counts) * 4 != lengths - HEADER).any()):
        raise ValueError("decode: a pack whose entries do not match its counts")
    # (binary_slice without a stop fails in Arrow 26: "Negative buffer resize")
    entries = np.frombuffer(_data(pc.binary_slice(packs, HEADER, 1 << 30)), dtype=_ENTRY_DTYPE)
    row = np.repeat(np.arange(n), (lengths - HEADER) // 4)
    within = np.arange(len(entries)) - np.repeat(np.cumsum(sum(counts)) - sum(counts),
                                                 sum(counts))
    for column, source in (("after_n_total", f"{timepoint}_totals"),
                           ("after_n_answer", f"{timepoint}_item9")):
        which = MAP_COLUMNS.index(source)
        low = sum(counts[:which]) if which else np.zeros(n, dtype="int64")
        result = np.full(n, np.nan)
        hit = np.flatnonzero(entries["k"] == key) if 0 <= key <= 65_535 else np.zeros(0, int)
        mine = row[hit]
        inside = (within[hit] >= low[mine]) & (within[hit] < low[mine] + counts[which][mine])
        result[mine[inside]] = entries["v"][hit[inside]]
        out[column] = result
    return out


_ENTRY_DTYPE = np.dtype([("k", "<u2"), ("v", "<i2")])


def _data(array: pa.Array) -> memoryview | bytes:
    """The bytes of a binary array's values, from its first value to its last."""
    _, offsets, data = array.buffers()
    if data is None or not len(array):
        return b""
    width = 8 if pa.types.is_large_binary(array.type) else 4
    bounds = np.frombuffer(offsets, dtype=f"<i{width}", count=len(array) + 1,
                           offset=array.offset * width)
    return memoryview(data)[int(bounds[0]):int(bounds[-1])]
