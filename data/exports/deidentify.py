"""HIPAA Safe Harbor de-identification of export tables (45 CFR 164.514(b)(2)).

Applied column by column from each `ColumnSpec.phi` (see `data.exports.columns`):

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
- the patient is identified only by `study_id`, a random code (data/pseudonyms.py) whose
  mapping to the patient stays in the store.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from data.exports.columns import ColumnSpec
from data.exports.tables import Table

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


def deidentify(table: Table, *, date_mode: str = "year",
               rng: random.Random | None = None) -> Table:
    """A new table with the Safe Harbor rules applied (the input is left unchanged)."""
    if date_mode not in DATE_MODES:
        raise ValueError(f"date mode: must be one of {', '.join(DATE_MODES)}")
    staff_columns = [c.name for c in table.columns if c.phi == "staff"]
    staff = StaffPseudonyms((row.get(c) for row in table.rows for c in staff_columns), rng)
    columns: list[ColumnSpec] = []
    for spec in table.columns:
        columns.extend(_output_columns(spec, date_mode))
    rows = [_row(row, table.columns, date_mode, staff) for row in table.rows]
    return Table(table.name, tuple(columns), rows, notes=_notes(table.columns, date_mode))


def _output_columns(spec: ColumnSpec, date_mode: str) -> list[ColumnSpec]:
    """What a column becomes in the de-identified table (none, one or two columns)."""
    rule = spec.phi
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


def _row(row: dict[str, Any], columns: tuple[ColumnSpec, ...], date_mode: str,
         staff: StaffPseudonyms) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for spec in columns:
        value, rule = row.get(spec.name), spec.phi
        if rule in ("identifier", "timestamp"):
            continue
        if rule == "anchor" or (rule == "date" and date_mode == "year"):
            out[f"{spec.name}_year"] = value.year if value is not None else None
        elif rule == "date":
            out[f"{spec.name}_day"] = days_since(value, row.get("_anchor"))
        elif rule == "event_time":
            out["occurred_year"] = value.year if value is not None else None
            out["occurred_at"] = None if row.get("_patient") else value
        elif rule == "staff":
            out[spec.name] = staff(value)
        elif rule == "age":
            out[spec.name] = safe_harbor_age(value)
        else:
            out[spec.name] = value
    return out


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
    notes.append("Patients identified only by study_id, a random code whose mapping stays in "
                 "the store.")
    return notes
