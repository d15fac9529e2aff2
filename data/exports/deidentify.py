"""HIPAA Safe Harbor de-identification of export tables (45 CFR 164.514(b)(2)).

Applied column by column from each `ColumnSpec.phi` (see `data.files.columns`):

- names, patient codes, birth dates, free text (notes, adverse-event text, other side
  effect, alert action notes, audit values and reasons), store keys, session ids and
  hashes are dropped;
- patient dates become the year (`<column>_year`) or, in date mode "days", the number of
  days since the course start (`<column>_day`); the course start itself keeps its year;
- times of data entry are dropped; an audit event keeps its year, and its full time only
  when it concerns no patient;
- staff (user names, clinician codes) become per-export pseudonyms `staff-01`, `staff-02`
  ... numbered in a random order, so the numbers say nothing about who is who and do not
  link one export to another; 'system' stays 'system';
- ages of 90 and over become "90+";
- a column with a closed list (the indication) keeps the list's values; free text typed
  for 'other' becomes "other";
- a column without a rule makes `deidentify` fail (fail closed, never "kept by default");
- the patient is identified only by `study_id`, a random code (data/store/pseudonyms.py) whose
  mapping to the patient stays in the store.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import date, datetime

import numpy as np

from data.exports.tables import Table
from data.files.columns import PHI_RULES, ColumnSpec
from data.files.frame import Coded, ColumnTable, from_ints, with_none_where

DATE_MODES = ("year", "days")
DATE_MODE_HELP = {
    "year": "patient dates reduced to the year",
    "days": "patient dates given as days since the course start (the course start as its year)",
}


class StaffPseudonyms:
    """Per-export staff codes in a random order ('system' and empty names kept)."""

    def __init__(self, names: Iterable[str | None], rng: random.Random | None = None) -> None:
        people = sorted({n for n in names if n and n != "system"})
        (rng or random.SystemRandom()).shuffle(people)
        width = max(2, len(str(len(people))))
        self._codes = {name: f"staff-{i:0{width}d}" for i, name in enumerate(people, 1)}

    def __call__(self, name: str | None) -> str | None:
        if not name or name == "system":
            return name or None
        return self._codes[name]


def deidentify(table: Table | ColumnTable, *, date_mode: str = "year",
               rng: random.Random | None = None,
               staff: StaffPseudonyms | None = None) -> ColumnTable:
    """A new table with the Safe Harbor rules applied (the input is left unchanged).

    Column by column: each rule runs once per distinct value of a column (a day, a user
    name, an age), not once per cell; only "days since the course start" combines two
    columns row by row, as integer arrays. A table streamed in chunks passes the same
    `staff` pseudonyms (numbered over the whole export's staff) for every chunk.
    """
    if date_mode not in DATE_MODES:
        raise ValueError(f"date mode: must be one of {', '.join(DATE_MODES)}")
    source = table if isinstance(table, ColumnTable) else ColumnTable.from_rows(table)
    if staff is None:
        staff = StaffPseudonyms((name for c in source.columns if c.phi == "staff"
                                 for name in source.column(c.name).used_values()), rng)
    columns: list[ColumnSpec] = []
    data: dict[str, Coded] = {}
    for spec in source.columns:
        outputs = _output_columns(spec, date_mode)
        columns.extend(outputs)
        if outputs:
            data.update(_column(source, spec, date_mode, staff))
    return ColumnTable(source.name, tuple(columns), data, source.n_rows,
                       notes=_notes(source.columns, date_mode))


def _output_columns(spec: ColumnSpec, date_mode: str) -> list[ColumnSpec]:
    """What a column becomes in the de-identified table (none, one or two columns)."""
    rule = spec.phi
    if rule not in PHI_RULES:  # fail closed: a column nobody classified never leaves
        raise ValueError(f"column {spec.name}: no de-identification rule (one of "
                         f"{', '.join(PHI_RULES)}); see data/files/columns.py")
    if rule == "generalised":
        return [ColumnSpec(spec.name, spec.kind, f"{spec.description} De-identified: a value "
                           "outside the list is given as 'other'.", "kept")]
    if rule in ("identifier", "timestamp"):
        return []
    if rule == "anchor" or (rule == "date" and date_mode == "year"):
        return [ColumnSpec(f"{spec.name}_year", "int",
                           f"{spec.description} De-identified: the year only.")]
    if rule == "date":
        return [ColumnSpec(f"{spec.name}_day", "int",
                           f"{spec.description} De-identified: days since the course start "
                           "(0 = the course start day).")]
    if rule == "event_time":
        return [
            ColumnSpec("occurred_year", "int", "Year of the event."),
            ColumnSpec("occurred_at", "datetime", f"{spec.description} De-identified: given "
                       "only for events that concern no patient (empty otherwise)."),
        ]
    if rule == "staff":
        return [ColumnSpec(spec.name, "text", f"{spec.description} De-identified: a "
                           "pseudonym (staff-NN) valid within this export only.")]
    if rule == "age":
        return [ColumnSpec(spec.name, "age", f"{spec.description} De-identified: ages of 90 "
                           "and over are given as '90+'.")]
    return [spec]


def _column(table: ColumnTable, spec: ColumnSpec, date_mode: str,
            staff: StaffPseudonyms) -> dict[str, Coded]:
    """What one column becomes (its rule is not "identifier" or "timestamp")."""
    column, rule = table.column(spec.name), spec.phi
    if rule == "anchor" or (rule == "date" and date_mode == "year"):
        return {f"{spec.name}_year": column.map(_year)}
    if rule == "date":
        return {f"{spec.name}_day": _days_since(column, table.column("_anchor"))}
    if rule == "event_time":
        concerns_patient = np.array([bool(v) for v in table.column("_patient").values],
                                    dtype=bool).take(table.column("_patient").codes)
        return {"occurred_year": column.map(_year),
                "occurred_at": with_none_where(column, concerns_patient)}
    if rule == "staff":
        return {spec.name: column.map(staff)}
    if rule == "age":
        return {spec.name: column.map(safe_harbor_age)}
    if rule == "generalised":
        return {spec.name: column.map(lambda v: generalised(v, spec.allowed))}
    return {spec.name: column}


def generalised(value: str | None, allowed: tuple[str, ...]) -> str | None:
    """A value of the closed list as is; any other text (typed for 'other') as 'other'."""
    if value is None or value == "":
        return None
    return value if value in allowed else "other"


def _year(value: date | None) -> int | None:
    return value.year if value is not None else None


def _days_since(days: Coded, anchors: Coded) -> Coded:
    """`days_since(day, anchor)` of each row, as integer arrays (ordinals of the days)."""
    day, has_day = _ordinals(days)
    anchor, has_anchor = _ordinals(anchors)
    return from_ints(day - anchor, has_day & has_anchor)


def _ordinals(column: Coded) -> tuple[np.ndarray, np.ndarray]:
    """Each row's day as a proleptic ordinal (datetimes: their date), and whether known."""
    known = [v is not None for v in column.values]
    ordinals = [(v.date() if isinstance(v, datetime) else v).toordinal() if v is not None
                else 0 for v in column.values]
    return (np.array(ordinals, dtype=np.int64).take(column.codes),
            np.array(known, dtype=bool).take(column.codes))


def days_since(day: date | None, anchor: date | None) -> int | None:
    """Days from the course start to `day` (negative before it); None when unknown."""
    if day is None or anchor is None:
        return None
    if isinstance(day, datetime):
        day = day.date()
    return (day - anchor).days


def safe_harbor_age(age: int | None) -> int | str | None:
    """Ages over 89 are aggregated into '90+' (Safe Harbor)."""
    if age is None:
        return None
    return "90+" if age >= 90 else int(age)


def _notes(columns: tuple[ColumnSpec, ...], date_mode: str) -> list[str]:
    """One line per rule that this table's columns triggered."""
    rules = {c.phi for c in columns}
    dropped = [c.name for c in columns if c.phi in ("identifier", "timestamp")]
    notes = []
    if dropped:
        notes.append("Dropped (identifiers, free text, entry times): " + ", ".join(dropped) + ".")
    if rules & {"date", "anchor", "event_time"}:
        notes.append(f"Dates: {DATE_MODE_HELP[date_mode]}.")
    if "staff" in rules:
        notes.append("Staff names replaced by pseudonyms (staff-NN) valid within this export.")
    if "age" in rules:
        notes.append("Ages of 90 and over given as '90+'.")
    if "generalised" in rules:
        notes.append("Free text typed for 'other' (e.g. the indication) given as 'other'.")
    notes.append("Patients identified only by study_id, a random code whose mapping stays in "
                 "the store.")
    return notes
