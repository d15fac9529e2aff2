"""Row checks of a score import (OUTCOMES.md section 5).

Every check works on whole columns: a text column's rule is applied once per distinct
text and the outcome spread back over the rows (`_Texts`, which starts from the reader's
codes when it has them), and item answers and totals are scored one instrument at a
time by `outcomes.scoring_frame` (the rules of `outcomes.scoring`, S1-S3, which also
words every refusal). Every bad cell is reported.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

import numpy as np
import pandas as pd

from data.imports.import_csv import (
    ITEM_COLUMNS,
    REQUIRED_COLUMNS,
    ErrorLog,
    RowError,
    add_errors,
    shown,
)
from data.store.bulk import json_int_lists
from models.schemas import (
    FIELD_RULES,
    INFUSION_NUMBER_MAX,
    infusion_number_problem,
    visit_date_problem,
)
from models.tables import INFUSION_TYPES, ROUTES, TIMEPOINTS
from outcomes.instruments import (
    INSTRUMENTS,
    SUICIDAL_IDEATION_ITEM,
    UnknownInstrumentError,
    get_instrument,
)
from outcomes.scoring import ScoringError, check_functional_difficulty
from outcomes.scoring_frame import MISSING, score_cells

MAX_INFUSION_NUMBER = INFUSION_NUMBER_MAX  # the form's rule (models/schemas.py)
_ROUTE_NAMES = {r.lower(): r for r in ROUTES}
_INFUSION_NUMBER = re.compile(r"\+?[0-9]{1,6}")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_FIELD_ORDER = {name: n for n, name in enumerate(
    ("row", *REQUIRED_COLUMNS, "course_id", "clinician", "indication", "infusion_type", "route",
     "dose_mg_per_kg", *ITEM_COLUMNS, "items", "functional_difficulty", "total"))}
SCORE_COLUMNS = ("items", "total", "severity", "complete", "item9", "scored")


def _objects(values: list) -> np.ndarray:
    """A 1-D object array of `values` (np.array would nest tuples and lists)."""
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


class _Texts:
    """The file's text columns, each factorized once: a rule is applied once per distinct
    text and its outcome spread back over the rows."""

    def __init__(self, frame: pd.DataFrame,
                 factorized: dict[str, tuple[np.ndarray, list]] | None = None) -> None:
        self.frame = frame
        self._factorized = {name: (codes, [*texts, ""])
                            for name, (codes, texts) in (factorized or {}).items()}

    def factorized(self, name: str) -> tuple[np.ndarray, list]:
        """(codes, distinct texts) of column `name`; a missing cell (None or NaN: code -1,
        the last entry) reads as ''."""
        if name not in self._factorized:
            codes, uniques = pd.factorize(self.frame[name].to_numpy(dtype=object))
            self._factorized[name] = (codes, [*uniques, ""])
        return self._factorized[name]

    def per_text(self, name: str, convert: Callable[[object], object]) -> np.ndarray:
        """`convert` of each row's text in column `name` (an object array)."""
        codes, uniques = self.factorized(name)
        return _objects([convert(u) for u in uniques])[codes]

    def test(self, name: str, predicate: Callable[[object], bool]) -> np.ndarray:
        """`predicate` of each row's text in column `name` (a bool array)."""
        codes, uniques = self.factorized(name)
        return np.array([bool(predicate(u)) for u in uniques], dtype=bool)[codes]

    def filled(self, name: str) -> np.ndarray:
        return self.test(name, lambda v: v != "")


def _flag(errors: list[RowError], frame: pd.DataFrame, mask: np.ndarray | pd.Series, field: str,
          reason: Callable[[str], str]) -> None:
    """One RowError per row of `mask`, the reason built once per distinct cell text (the
    text as `shown`: escaped, shortened)."""
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return
    codes, uniques = pd.factorize(frame[field].to_numpy(dtype=object)[mask])
    reasons = _objects([reason(shown(u)) for u in uniques])
    add_errors(errors, field, frame["line"].to_numpy()[mask], reasons[codes])


# the forms' rules (models/schemas.py FIELD_RULES), applied once per distinct text
TEXT_RULES: dict[str, Callable[[str], str | None]] = FIELD_RULES


def _rule_outcomes(texts: _Texts, name: str) -> np.ndarray:
    """Each row's refusal by its column's text rule (None where accepted or empty),
    computed once per distinct text and once per column."""
    cache = texts.__dict__.setdefault("_rule_outcomes", {})
    if name not in cache:
        rule = TEXT_RULES[name]
        codes, uniques = texts.factorized(name)
        cache[name] = _objects([rule(u) if u != "" else None for u in uniques])[codes]
    return cache[name]


def _check_text(texts: _Texts, errors: list[RowError]) -> None:
    """Required cells present; text fields pass the forms' text rules (printable, one
    line, no noncharacter, within their length; clinic codes as registered)."""
    for name in REQUIRED_COLUMNS:
        _flag(errors, texts.frame, ~texts.filled(name), name,
              lambda v, n=name: f"required; {n} must not be empty")
    lines = texts.frame["line"].to_numpy()
    for name in TEXT_RULES:
        outcomes = _rule_outcomes(texts, name)
        bad = np.flatnonzero(outcomes != None)  # noqa: E711  (element-wise)
        add_errors(errors, name, lines[bad], outcomes[bad])


def _infusion_number(text: str) -> int | str | None:
    """The number, the form's refusal of it (models.schemas.infusion_number_problem), or
    None when the text is no whole number."""
    if not _INFUSION_NUMBER.fullmatch(text):
        return None
    number = int(text)
    return infusion_number_problem(number) or number


def _infusion_numbers(texts: _Texts, errors: list[RowError]) -> pd.Series:
    codes, uniques = texts.factorized("infusion_number")
    parsed = [_infusion_number(u) for u in uniques]
    valid = np.array([isinstance(n, int) for n in parsed], dtype=bool)[codes]
    number = np.array([n if isinstance(n, int) else 0 for n in parsed], dtype=np.int64)[codes]
    unparsed = np.array([n is None for n in parsed], dtype=bool)[codes]
    _flag(errors, texts.frame, texts.filled("infusion_number") & unparsed, "infusion_number",
          lambda v: f"'{v}' is not a positive integer; infusion_number is a whole number "
                    f"1-{MAX_INFUSION_NUMBER}")
    refused = _objects([n if isinstance(n, str) else None for n in parsed])[codes]
    bad = np.flatnonzero(refused != None)  # noqa: E711  (element-wise)
    add_errors(errors, "infusion_number", texts.frame["line"].to_numpy()[bad], refused[bad])
    return pd.Series(pd.arrays.IntegerArray(number, ~valid), index=texts.frame.index)


def _visit_date(text: str) -> date | None:
    """An ISO date YYYY-MM-DD (and nothing else), or None."""
    if not _ISO_DATE.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:  # month 13, day 32, year 0...
        return None


def _dates(texts: _Texts, errors: list[RowError], today: date) -> pd.Series:
    """Visit dates by the forms' rule (models.validation.visit_date_problem: not in the
    future, not before 2000), once per distinct text; NaT where refused."""
    codes, uniques = texts.factorized("date")
    parsed = [_visit_date(u) for u in uniques]
    problems = [None if d is None else visit_date_problem(d, today) for d in parsed]
    kept = pd.to_datetime(pd.Series([d if p is None else None for d, p in
                                     zip(parsed, problems, strict=True)], dtype=object))
    unparsed = np.array([d is None for d in parsed], dtype=bool)[codes]
    _flag(errors, texts.frame, texts.filled("date") & unparsed, "date",
          lambda v: f"'{v}' is not a valid ISO date; dates are written YYYY-MM-DD (e.g. 2024-01-13)")
    refused = _objects(problems)[codes]
    bad = np.flatnonzero(refused != None)  # noqa: E711  (element-wise)
    add_errors(errors, "date", texts.frame["line"].to_numpy()[bad], refused[bad])
    return pd.Series(kept.astype("datetime64[ns]").to_numpy()[codes], index=texts.frame.index)


def _choice(texts: _Texts, errors: list[RowError], name: str, allowed: dict[str, str],
            noun: str) -> pd.Series:
    """Case-insensitive choice from `allowed` (lower-case text -> stored value); None if empty."""
    value = texts.per_text(name, lambda v: allowed.get(v.lower()))
    known = texts.test(name, lambda v: v.lower() in allowed)
    shown = ", ".join(allowed.values())
    _flag(errors, texts.frame, texts.filled(name) & ~known, name,
          lambda v: f"'{v}' is not {noun}; allowed: {shown}")
    return pd.Series(value, index=texts.frame.index, dtype=object)


def _instrument_name(text: str) -> str | None:
    if text == "":
        return None
    try:
        return get_instrument(text).name
    except UnknownInstrumentError:
        return None


def _instruments(texts: _Texts, errors: list[RowError]) -> np.ndarray:
    names = texts.per_text("instrument", _instrument_name)
    known = texts.test("instrument", lambda v: _instrument_name(v) is not None)
    allowed = ", ".join(INSTRUMENTS)
    _flag(errors, texts.frame, texts.filled("instrument") & ~known, "instrument",
          lambda v: f"'{v}' is not a known instrument; allowed: {allowed}")
    return names


def _doses(texts: _Texts, errors: list[RowError]) -> pd.Series:
    """The dose cells as numbers (NaN where empty or no finite number). The dose rule
    itself (above 0, at most the protocol's maximum) is the form's, applied with the
    protocol in data.imports.importer (models.schemas.dose_problem)."""
    codes, uniques = texts.factorized("dose_mg_per_kg")
    text = pd.Series(uniques, dtype=object)
    number = pd.to_numeric(text.where(text != ""), errors="coerce")  # same dtype as per row
    dose = pd.Series(number.to_numpy()[codes], index=texts.frame.index)
    valid = number.abs().lt(float("inf")).to_numpy()[codes]
    _flag(errors, texts.frame, texts.filled("dose_mg_per_kg") & ~valid, "dose_mg_per_kg",
          lambda v: f"'{v}' is not a positive number; dose_mg_per_kg is the dose in mg per kg "
                    "of body weight, greater than 0")
    return dose.where(valid)


def _check_unused_cells(texts: _Texts, errors: list[RowError], instrument: np.ndarray) -> None:
    """Items beyond the instrument's count, and functional_difficulty outside PHQ-9, are empty."""
    frame = texts.frame
    counts = np.full(len(frame), 99, dtype=np.int64)
    for name, inst in INSTRUMENTS.items():
        counts[instrument == name] = inst.n_items
    for k, column in enumerate(ITEM_COLUMNS, 1):
        if k <= counts.min(initial=99):
            continue  # every row's instrument has item k
        for pos in (texts.filled(column) & (counts < k)).nonzero()[0]:
            errors.append(RowError(
                int(frame["line"].iat[pos]), column,
                f"{instrument[pos]} has {counts[pos]} items; {column} must be empty"))
    known = counts != 99
    other = texts.filled("functional_difficulty") & known & (instrument != "PHQ-9")
    for pos in other.nonzero()[0]:
        errors.append(RowError(
            int(frame["line"].iat[pos]), "functional_difficulty",
            f"functional_difficulty is PHQ-9 question 10; leave it empty for {instrument[pos]}"))


def _reason(exc: ScoringError) -> str:
    """The scoring message without its 'PHQ-9 item_3: ' prefix (the report names the field)."""
    text, prefix = str(exc), f"{exc.instrument} {exc.field}: "
    return text[len(prefix):] if text.startswith(prefix) else text


def _scores(frame: pd.DataFrame, errors: list[RowError], instrument: np.ndarray) -> dict:
    """Score every row with a known instrument (S1-S3), one instrument at a time.

    Columns over all rows: items (JSON text), total, severity, complete, item9 (PHQ-9),
    and `scored` (False where the instrument is unknown or the answers were refused).
    """
    n = len(frame)
    out = {name: np.full(n, None, dtype=object) for name in SCORE_COLUMNS}
    out["scored"] = np.zeros(n, dtype=bool)
    lines = frame["line"].to_numpy()
    used = [inst for name, inst in INSTRUMENTS.items() if (instrument == name).any()]
    width = max((inst.n_items for inst in used), default=0)
    block = frame[list(ITEM_COLUMNS[:width])].to_numpy(dtype=object)
    totals = frame["total"].to_numpy(dtype=object)
    for inst in used:
        rows = np.flatnonzero(instrument == inst.name)
        result = score_cells(inst, block[rows, :inst.n_items], totals[rows])
        for i, problems in result.errors.items():
            errors.extend(RowError(int(lines[rows[i]]), p.field, _reason(p)) for p in problems)
        ok = result.ok
        good, answers = rows[ok], result.answers[ok]
        out["items"][good] = json_int_lists(answers, answers == MISSING)
        total = result.total[ok]
        out["total"][good] = np.where(total == MISSING, None, total.astype(object))
        out["severity"][good] = result.severity[ok]
        out["complete"][good] = result.complete[ok]
        if inst.name == "PHQ-9":
            item9 = answers[:, SUICIDAL_IDEATION_ITEM - 1]
            out["item9"][good] = np.where(item9 == MISSING, None, item9.astype(object))
        out["scored"][good] = True
    return out


def _functional_difficulty(texts: _Texts, errors: list[RowError],
                           instrument: np.ndarray) -> np.ndarray:
    """PHQ-9 question 10 (0-3), checked by the scoring module once per distinct text."""
    def check(text: object) -> int | str | None:
        try:
            return check_functional_difficulty(text)
        except ScoringError as exc:
            return _reason(exc)

    checked = texts.per_text("functional_difficulty", check)
    phq9 = instrument == "PHQ-9"
    refused = phq9 & texts.test("functional_difficulty", lambda v: isinstance(check(v), str))
    for pos in refused.nonzero()[0]:
        errors.append(RowError(int(texts.frame["line"].iat[pos]), "functional_difficulty",
                               checked[pos]))
    return np.where(phq9 & ~refused, checked, None)


def _optional_text(texts: _Texts, name: str) -> pd.Series:
    """The column's text, None where empty."""
    return pd.Series(texts.per_text(name, lambda v: v or None), index=texts.frame.index,
                     dtype=object)


def _patients(texts: _Texts) -> np.ndarray:
    """A number per (clinic, patient_id) pair, for grouping rows by patient."""
    clinic, _ = texts.factorized("clinic")
    patient, patients = texts.factorized("patient_id")
    return pd.factorize(clinic.astype(np.int64) * (len(patients) + 1) + patient)[0]


def _short_keys(texts: _Texts) -> np.ndarray:
    """Rows whose clinic, patient_id and course_id pass their text rules (only those
    reach the store: a NUL in a code must never reach a query)."""
    short = np.ones(len(texts.frame), dtype=bool)
    for name in ("clinic", "patient_id", "course_id"):
        short &= _rule_outcomes(texts, name) == None  # noqa: E711  (element-wise)
    return short


def validate_rows(frame: pd.DataFrame, *, today: date,
                  factorized: dict[str, tuple[np.ndarray, list]] | None = None,
                  ) -> tuple[pd.DataFrame, list[RowError]]:
    """Check every row; the normalised rows (NA/None where a cell is bad) and every error.

    `factorized`: columns the reader already has as (codes, distinct texts), see
    import_csv.CsvTable.

    The rows carry the scores in SCORE_COLUMNS (`scored` False where there is none),
    `_patient`, a number per (clinic, patient_id), and `_short`: clinic, patient_id and
    course_id within their lengths.
    """
    errors: list[RowError] = ErrorLog()
    texts = _Texts(frame, factorized)
    _check_text(texts, errors)
    instrument = _instruments(texts, errors)
    _check_unused_cells(texts, errors, instrument)
    scores = _scores(frame, errors, instrument)
    rows = pd.DataFrame({
        "line": frame["line"].astype(int),
        "clinic": frame["clinic"],
        "patient_id": frame["patient_id"],
        "clinician": _optional_text(texts, "clinician"),
        "indication": _optional_text(texts, "indication"),
        "course_id": _optional_text(texts, "course_id"),
        "infusion_number": _infusion_numbers(texts, errors),
        "infusion_type": _choice(texts, errors, "infusion_type",
                                 {t: t for t in INFUSION_TYPES}, "an infusion type"),
        "timepoint": _choice(texts, errors, "timepoint", {t: t for t in TIMEPOINTS},
                             "a timepoint"),
        "date": _dates(texts, errors, today),
        "instrument": pd.Series(instrument, index=frame.index, dtype=object),
        "route": _choice(texts, errors, "route", _ROUTE_NAMES, "a route"),
        "dose_mg_per_kg": _doses(texts, errors),
        "functional_difficulty": pd.Series(_functional_difficulty(texts, errors, instrument),
                                           index=frame.index, dtype=object),
        **{name: pd.Series(values, index=frame.index, dtype=values.dtype)
           for name, values in scores.items()},
        "_patient": _patients(texts),
        "_short": _short_keys(texts),
    })
    return rows, errors


def sort_errors(errors: list[RowError]) -> list[RowError]:
    """By line, then in the order of the file's columns."""
    return sorted(errors, key=lambda e: (e.line, _FIELD_ORDER.get(e.field, 99), e.reason))
