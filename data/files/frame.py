"""Column-wise export tables: each column dictionary-encoded (`Coded`: one small integer
code per row into an array of Python values).

The scores table of a clinic network has a million rows but few distinct values per
column (a few dozen item answers, a few thousand days, 40,000 study IDs), so every rule
that used to run once per cell (de-identification, CSV formatting and formula
neutralisation) runs once per value and is spread over the rows by `numpy.take`. The
values stay the Python values the row-wise tables held (int, str, date, bool, None), so
the rules are the same functions, applied to fewer inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import IO, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from data.files.columns import ColumnSpec


def objects(values: Sequence[Any]) -> np.ndarray:
    """A 1-d object array of `values` (lists stay elements, never become a 2-d array)."""
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


@dataclass(frozen=True)
class Coded:
    """A column: `values[codes[i]]` is row i's value. Values need not be distinct."""

    codes: np.ndarray  # integer codes, one per row
    values: np.ndarray  # object array of Python values (None = missing)

    @classmethod
    def plain(cls, values: Sequence[Any]) -> Coded:
        """Row i's value is values[i] (no encoding: used for row-built tables, where one
        column may hold 1 and True or 1 and 1.0, which hashing would merge)."""
        return cls(np.arange(len(values), dtype=np.int64), objects(values))

    @classmethod
    def from_arrow(cls, column: pa.ChunkedArray | pa.Array) -> Coded:
        """A typed Arrow column, dictionary-encoded: each distinct value one Python value
        (int, float, str, date, datetime, bool), missing as None (the last value)."""
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        encoded = pc.dictionary_encode(column)
        values = [*encoded.dictionary.to_pylist(), None]
        codes = pc.fill_null(encoded.indices, len(values) - 1).to_numpy(zero_copy_only=False)
        return cls(_small(codes, len(values)), objects(values))

    def __len__(self) -> int:
        return len(self.codes)

    def map(self, fn: Callable[[Any], Any]) -> Coded:
        """`fn` applied to each value (once per value, not per row)."""
        return Coded(self.codes, objects([fn(v) for v in self.values]))

    def take(self) -> np.ndarray:
        """The row values (an object array)."""
        return self.values.take(self.codes)

    def reorder(self, order: np.ndarray) -> Coded:
        return Coded(self.codes.take(order), self.values)

    def used_values(self) -> np.ndarray:
        """The values that at least one row holds."""
        return self.values.take(np.unique(self.codes))


def _small(codes: np.ndarray, n_values: int) -> np.ndarray:
    """Codes in the narrowest integer type that holds them (a million rows x 20 columns)."""
    return codes.astype(np.int32 if n_values < 2**31 else np.int64, copy=False)


def with_none_where(column: Coded, mask: np.ndarray) -> Coded:
    """The column with the rows of `mask` set to None."""
    values = objects([*column.values, None])
    return Coded(np.where(mask, len(values) - 1, column.codes).astype(np.int64), values)


def from_ints(numbers: np.ndarray, valid: np.ndarray) -> Coded:
    """A column of Python ints from an int64 array (None where not `valid`)."""
    codes, uniques = pd.factorize(np.where(valid, numbers, 0))
    values = [int(v) for v in uniques] + [None]
    codes = np.where(valid, codes, len(values) - 1)
    return Coded(_small(codes, len(values)), objects(values))


@dataclass
class ColumnTable:
    """An export table held column-wise (the same interface as `tables.Table`).

    `data` holds every column of `columns`, and may hold hidden columns whose name
    starts with '_' (what the de-identification needs, such as the course anchor date).
    """

    name: str
    columns: tuple[ColumnSpec, ...]
    data: dict[str, Coded]
    n_rows: int
    notes: list[str] = field(default_factory=list)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @classmethod
    def from_rows(cls, table: Any) -> ColumnTable:
        """A row-built `tables.Table` held column-wise (each cell kept as it is)."""
        names = list(dict.fromkeys(
            [*table.column_names, *(k for row in table.rows for k in row if k.startswith("_"))]))
        data = {name: Coded.plain([row.get(name) for row in table.rows]) for name in names}
        return cls(table.name, table.columns, data, len(table.rows), list(table.notes))

    def column(self, name: str) -> Coded:
        """A column (all None when the table has no such column, as `dict.get` gave)."""
        if name in self.data:
            return self.data[name]
        return Coded(np.zeros(self.n_rows, dtype=np.int32), objects([None]))

    def iter_rows(self, names: Sequence[str]) -> Iterator[tuple[Any, ...]]:
        """The rows as tuples of the named columns' values."""
        return zip(*(self.column(n).take() for n in names), strict=True) if names else \
            iter([()] * self.n_rows)

    @cached_property
    def rows(self) -> list[dict[str, Any]]:
        """The rows as dicts (built once, when a reader needs them: JSON, FHIR)."""
        names = list(self.data)
        return [dict(zip(names, values, strict=True)) for values in self.iter_rows(names)]


CHUNK_ROWS = 50_000  # rows joined at a time: the text of one chunk at most, then bytes
JOINT_LIMIT = 1 << 20  # most value combinations a block of adjacent columns may have
Format = Callable[[Any], str]


def write_rows(out: IO[bytes], columns: Sequence[Coded], formats: Sequence[Format],
               n_rows: int, *, sep: str, start: str = "", end: str = "",
               between: str = "") -> None:
    """Write each row as `start + sep.join(its fields) + end` (rows separated by
    `between`) in UTF-8, where column i's field is `formats[i](value)`.

    Each distinct value of a column is formatted once. Adjacent columns are then written
    as blocks: columns that share their codes (the course's study ID, clinic and start;
    the items of one administration) or whose value combinations are few (infusion
    number, timepoint, instrument, year) are joined into one piece of text per distinct
    combination, so a row is a handful of pieces to join.
    """
    blocks = [_block(group, sep) for group in _groups(list(zip(columns, formats,
                                                                     strict=True)))]
    if blocks:
        codes, texts = blocks[0]
        blocks[0] = codes, objects([start + t for t in texts])
        codes, texts = blocks[-1]
        blocks[-1] = codes, objects([t + end for t in texts])
    for first in range(0, n_rows, CHUNK_ROWS):
        last = min(first + CHUNK_ROWS, n_rows)
        pieces = [texts.take(codes[first:last]) for codes, texts in blocks]
        if len(pieces) == 1:
            lines = pieces[0]
        elif pieces:
            lines = map(sep.join, zip(*pieces, strict=True))
        else:
            lines = [start + end] * (last - first)
        out.write(((between if first else "") + between.join(lines)).encode("utf-8"))


def _groups(columns: list[tuple[Coded, Format]]) -> list[list[tuple[Coded, Format]]]:
    """Adjacent columns in blocks of at most JOINT_LIMIT combinations of their codes."""
    groups: list[list[tuple[Coded, Format]]] = []
    size = 0
    for column, fmt in columns:
        n = max(len(column.values), 1)
        if groups and any(column.codes is c.codes for c, _ in groups[-1]):
            groups[-1].append((column, fmt))  # shares codes: no new combinations
        elif groups and size * n <= JOINT_LIMIT:
            groups[-1].append((column, fmt))
            size *= n
        else:
            groups.append([(column, fmt)])
            size = n
    return groups


def _block(group: list[tuple[Coded, Format]], sep: str) -> tuple[np.ndarray, np.ndarray]:
    """The block's codes, and its text (its fields joined by `sep`) for each code."""
    bases: list[Coded] = []  # columns with the distinct code arrays of the block
    for column, _ in group:
        if not any(column.codes is b.codes for b in bases):
            bases.append(column)
    if len(bases) == 1:  # one code array: the values line up with it
        codes, picks = bases[0].codes, [None] * len(group)
    else:  # the joint code of each row, then the combinations that occur
        sizes = [max(len(b.values), 1) for b in bases]
        joint = np.zeros(len(bases[0].codes), dtype=np.int64)
        for base, n in zip(bases, sizes, strict=True):
            joint = joint * n + base.codes
        codes, combinations = pd.factorize(joint)
        parts, rest = [], combinations
        for n in reversed(sizes):
            rest, part = np.divmod(rest, n)
            parts.append(part)
        parts.reverse()
        picks = [parts[next(i for i, b in enumerate(bases) if column.codes is b.codes)]
                 for column, _ in group]
    fields = []
    for (column, fmt), pick in zip(group, picks, strict=True):
        texts = objects([fmt(v) for v in column.values])
        fields.append(texts if pick is None else texts.take(pick))
    joined = fields[0] if len(fields) == 1 else objects(
        list(map(sep.join, zip(*fields, strict=True))))
    return codes, joined
