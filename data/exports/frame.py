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
from typing import Any

import numpy as np
import pandas as pd

from data.exports.columns import ColumnSpec


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
    def from_chunks(cls, chunks: Sequence[tuple[np.ndarray, np.ndarray]]) -> Coded:
        """One column from `pandas.factorize` results of consecutive chunks of its rows
        (raw values of one Python type; code -1 = missing, which becomes None)."""
        uniques = np.concatenate([objects([]), *(u for _, u in chunks)])
        merged, values = pd.factorize(uniques)
        lookup = np.append(merged, len(values))  # the last slot: missing -> None
        offsets = np.cumsum([0, *(len(u) for _, u in chunks)])
        codes = [lookup.take(np.where(c < 0, len(uniques), c + offset))
                 for (c, _), offset in zip(chunks, offsets, strict=False)]
        return cls(_small(np.concatenate([np.zeros(0, np.int64), *codes]), len(values) + 1),
                   objects([*values, None]))

    def convert(self, fn: Callable[[Any], Any] | None) -> Coded:
        """Each value but None converted by `fn` (a result processor; None: as is)."""
        if fn is None:
            return self
        return Coded(self.codes,
                     objects([None if v is None else fn(v) for v in self.values]))

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
