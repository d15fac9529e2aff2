"""The shared machinery of the input schemas: one error type listing every (field, rule)
problem, `parse()` to validate with a schema, and the text, date and range checks the
schemas share. See models/schemas.py for the schemas and the rules they apply."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel, ValidationError, ValidationInfo

# Text limits (Unicode code points): the input rules' and the columns' sizes (models/tables.py)
NAME_MAX = 200
NOTES_MAX = 2000
CODE_MAX = 64  # a patient code (MRN)
COURSE_LABEL_MAX = 64  # a course label (the import's course_id)
CLINICIAN_CODE_MAX = 80  # who gave the infusion, as a file names them
INDICATION_MAX = 100
SIDE_EFFECT_OTHER_MAX = 200
EARLIEST_VISIT_DATE = date(2000, 1, 1)


class InputError(ValueError):
    """Bad input: every (field, rule) problem found; nothing was written."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{field}: {rule}" for field, rule in problems))

    @property
    def fields(self) -> list[str]:
        return [field for field, _ in self.problems]


class AlreadySaved(InputError):
    """The record this submission would create exists (a second click, a second tab)."""


def problems_of(error: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(field, rule) pairs of one pydantic error; our own messages are kept verbatim."""
    field = ".".join(str(part) for part in error["loc"]) or "input"
    inner = (error.get("ctx") or {}).get("error")
    if isinstance(inner, ModelProblems):
        return list(inner.problems)
    if error["type"] == "value_error":
        return [(field, str(inner))]
    if error["type"] == "missing":
        return [(field, "required")]
    return [(field, error["msg"][:1].lower() + error["msg"][1:])]


def parse(schema: type[BaseModel], data: BaseModel | dict[str, Any], **context: Any) -> Any:
    """Validate `data` with `schema` (context: today, protocol...); InputError on failure."""
    if isinstance(data, schema):
        data = data.model_dump()
    try:
        return schema.model_validate(data, context=context)
    except ValidationError as exc:
        raise InputError([p for e in exc.errors() for p in problems_of(e)]) from None


def today_from(info: ValidationInfo) -> date:
    return (info.context or {}).get("today") or datetime.now(UTC).date()




def is_noncharacter(char: str) -> bool:
    """Unicode's 66 noncharacters: U+FDD0..U+FDEF and the last two code points of every
    plane (U+FFFE, U+FFFF, U+1FFFE ...). XML (so XLSX) and many tools refuse them."""
    code = ord(char)
    return 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE


# invisible characters that make one identifier look like another (bidirectional
# overrides and isolates, zero-width characters, the byte-order mark): refused in codes
SPOOFING = frozenset("\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                     "\u2060\u2066\u2067\u2068\u2069\ufeff")


_SPOOFING_RE = re.compile("[" + "".join(sorted(SPOOFING)) + "]")
_PLANE_ENDS = "".join(chr(p << 16 | 0xFFFE) + chr(p << 16 | 0xFFFF) for p in range(1, 17))
# every character some rule below refuses (a C-speed first look; the loop words it)
_SUSPECT = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufdd0-\ufdef"
                      "\ufffe\uffff" + _PLANE_ENDS + "]")


def text_problem(value: str, *, limit: int, multiline: bool = False,
                 identifier: bool = False) -> str | None:
    """Why `value` is refused by the shared text rule, or None (see `check_text`)."""
    if len(value) > limit:
        return f"{len(value)} characters is too long; at most {limit}"
    if identifier and (hidden := _SPOOFING_RE.search(value)):
        return (f"contains an invisible character (U+{ord(hidden.group()):04X}) that can make "
                "one code look like another; type the code again")
    if _SUSPECT.search(value) is None:
        return None
    allowed = {"\n", "\r", "\t"} if multiline else set()
    for char in value:
        if char in allowed:
            continue
        category = unicodedata.category(char)
        if category == "Cc":
            return (f"contains a control character (U+{ord(char):04X}); only printable "
                    "text is accepted" + ("" if multiline else " on one line"))
        if category in ("Zl", "Zp") and not multiline:
            return (f"contains a line separator (U+{ord(char):04X}); this field is one line")
        if category == "Cs":
            return (f"contains a lone surrogate (U+{ord(char):04X}), which is not a "
                    "character; only printable text is accepted")
        if is_noncharacter(char):
            return (f"contains a Unicode noncharacter (U+{ord(char):04X}); only printable "
                    "text is accepted")
    return None


def check_text(value: str, *, limit: int, multiline: bool = False,
               identifier: bool = False) -> str:
    """Printable Unicode up to `limit` code points: control characters (other than line
    breaks and tabs in multi-line fields), lone surrogates and the 66 noncharacters are
    refused; in identifiers (`identifier`: patient codes, course labels) also invisible
    bidirectional and zero-width characters. The one text rule of forms and file imports
    alike."""
    problem = text_problem(value, limit=limit, multiline=multiline, identifier=identifier)
    if problem is not None:
        raise ValueError(problem)
    return value


CLINIC_CODE_MAX = 40
CLINIC_CODE_RULE = "1-40 letters, digits, '.', '_' or '-', starting with a letter or digit"
_CLINIC_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")


def clinic_code_problem(code: str) -> str | None:
    """Why `code` is not a clinic code, or None. Codes are compared case-insensitively
    when a clinic is created (a case variant is not a second clinic)."""
    if _CLINIC_CODE.fullmatch(code):
        return None
    shown = code if len(code) <= 40 and text_problem(code, limit=40) is None else "this"
    return f"'{shown}' is not a clinic code; {CLINIC_CODE_RULE}"


class ModelProblems(ValueError):
    """Several cross-field problems of one model (unpacked by `parse`)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{f}: {m}" for f, m in problems))


def visit_date_problem(value: date, today: date) -> str | None:
    """Why `value` is not a plausible visit date, or None (see `check_visit_date`)."""
    if value > today:
        return (f"{value.isoformat()} is in the future (today is {today.isoformat()}); "
                "record a visit on or after the day it happens")
    if value < EARLIEST_VISIT_DATE:
        return (f"{value.isoformat()} is not plausible; dates are on or after "
                f"{EARLIEST_VISIT_DATE.isoformat()}")
    return None


def check_visit_date(value: date, today: date) -> date:
    """Not in the future, not before EARLIEST_VISIT_DATE: the rule of forms and imports."""
    problem = visit_date_problem(value, today)
    if problem is not None:
        raise ValueError(problem)
    return value


def check_range(value: float | None, low: float, high: float, unit: str, what: str) -> None:
    """Refuse a value outside [low, high], naming the plausible range."""
    if value is not None and not low <= value <= high:
        raise ValueError(f"{value:g} {unit} is not plausible; {what} must be {low:g}-{high:g} "
                         f"{unit}")
