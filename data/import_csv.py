"""Reading a score import file (OUTCOMES.md section 5) into a table of text cells.

Accepts what spreadsheets write: a UTF-8 byte-order mark, CRLF line ends, spaces
around cells and column names, quoted cells, short rows (missing trailing cells are
empty) and blank rows (skipped). Anything that makes the whole file unreadable is a
`FileError` with a message for the person who saved the file.

A file larger than MAX_IMPORT_BYTES (50 MB, about 400,000 score rows) is refused before
it is decoded, for both imports (scores and patients): split it into smaller files.
"""

from __future__ import annotations

import csv
import io
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

REQUIRED_COLUMNS = ("patient_id", "clinic", "infusion_number", "timepoint", "date", "instrument")
ITEM_COLUMNS = tuple(f"item_{n}" for n in range(1, 21))
OPTIONAL_COLUMNS = (
    "clinician", "indication", "course_id", "infusion_type", *ITEM_COLUMNS,
    "functional_difficulty", "total", "dose_mg_per_kg", "route",
)  # fmt: skip
KNOWN_COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
_DELIMITERS = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}
MAX_IMPORT_BYTES = 50 * 1024 * 1024


class FileError(ValueError):
    """The file as a whole cannot be imported (encoding, header, delimiter...)."""


@dataclass(frozen=True)
class RowError:
    """One bad cell or row: 1-based physical line (the header is line 1), field, reason."""

    line: int
    field: str
    reason: str


@dataclass
class CsvTable:
    """The file's cells (stripped text, '' = missing) with each row's line number."""

    frame: pd.DataFrame
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def size_problem(size: int) -> str | None:
    """The refusal of a file of `size` bytes above MAX_IMPORT_BYTES, or None."""
    if size <= MAX_IMPORT_BYTES:
        return None
    return (f"the file is {size / 1024 / 1024:.1f} MB; an import file may be at most "
            f"{MAX_IMPORT_BYTES // 1024 // 1024} MB: split it into smaller files")


def decode(raw: bytes) -> str:
    """The file's text: UTF-8, with or without a byte-order mark."""
    if problem := size_problem(len(raw)):
        raise FileError(problem)
    if not raw.strip():
        raise FileError("the file is empty")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileError(
            f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
            "save it from the spreadsheet as 'CSV UTF-8 (comma delimited)'"
        ) from None
    if not text.strip():
        raise FileError("the file is empty")
    return text


def delimiter_hint(header: list[str]) -> str:
    """'; the file seems to separate columns with ...' when the header holds another separator."""
    joined = ",".join(header)
    for char, name in _DELIMITERS.items():
        if char in joined:
            return f"; the file seems to separate columns with {name}: the import needs commas"
    return ""


def check_header(header: list[str]) -> list[str]:
    """Refuse a header without the required columns or with a column twice; warnings."""
    seen: set[str] = set()
    for name in header:
        if name and name in seen:
            raise FileError(f"column '{name}' appears twice in the header")
        seen.add(name)
    missing = [c for c in REQUIRED_COLUMNS if c not in seen]
    if missing:
        lowered = {n.lower(): n for n in header}
        near = [f"'{lowered[c]}'" for c in missing if c in lowered]
        hint = f" (found {', '.join(near)}: names are exact and lower-case)" if near else ""
        raise FileError(
            f"the header lacks required column(s) {', '.join(missing)}{hint}"
            f"{delimiter_hint(header)}; required: {', '.join(REQUIRED_COLUMNS)}"
        )
    unknown = [n for n in header if n and n not in KNOWN_COLUMNS]
    if unknown:
        return [f"unknown column(s) ignored: {', '.join(repr(n) for n in unknown)}"]
    return []


def _records(text: str, width: int, errors: list[RowError]) -> tuple[np.ndarray, np.ndarray, int]:
    """Data rows (stripped, padded to `width`) as a 2-D array, their start lines, and the
    blank-row count, read by the csv module."""
    reader = csv.reader(io.StringIO(text, newline=""))
    next(reader)  # the header, already read
    rows: list[list[str]] = []
    lines: list[int] = []
    blank, last_line = 0, reader.line_num
    for cells in reader:
        line, last_line = last_line + 1, reader.line_num
        cells = list(map(str.strip, cells))
        if not any(cells):
            blank += 1
            continue
        if len(cells) > width:
            if any(cells[width:]):
                errors.append(RowError(line, "row", f"the row has {len(cells)} cells but the "
                                       f"header has {width} columns"))
            cells = cells[:width]
        rows.append(cells + [""] * (width - len(cells)))
        lines.append(line)
    table = np.empty((len(rows), width), dtype=object)
    if rows:
        table[:] = rows
    return table, np.array(lines, dtype=np.int64), blank


_SPACE_BYTE = np.zeros(256, dtype=bool)  # what str.strip removes in ASCII, \r and \n aside
_SPACE_BYTE[[ord(c) for c in " \t\v\f\x1c\x1d\x1e\x1f"]] = True
_SEPARATOR_BYTE = np.zeros(256, dtype=bool)
_SEPARATOR_BYTE[[ord(","), ord("\n"), ord("\r")]] = True


def _may_need_strip(data: np.ndarray, ascii_only: bool) -> bool:
    """False when no cell of an unquoted file (its bytes) starts or ends with a space."""
    if not ascii_only:
        return True
    spaces = np.flatnonzero(_SPACE_BYTE[data])
    if not len(spaces):
        return False
    if spaces[0] == 0 or spaces[-1] == len(data) - 1:
        return True
    return bool(_SEPARATOR_BYTE[data[spaces - 1]].any() or _SEPARATOR_BYTE[data[spaces + 1]].any())


def _simple_records(text: str, width: int) -> tuple[np.ndarray, np.ndarray, int] | None:
    """What `_records` returns, read by pandas' C parser, for a file without quotes; None
    when the file needs the csv module (quotes, NUL, a bare \r line end, a row wider than
    the header, a cell over the csv field limit).

    Without quotes a row is one physical line and a cell the text between commas, so the
    two readers agree: every physical line after the header is a row (blank lines
    included, skipped below), line ends are \n or \r\n, short rows are padded; a
    longer row makes pandas warn or fail, which hands the file to the csv module.
    tests/data/test_import_csv.py compares both readers.
    """
    encoded = text.encode("utf-8")
    if b'"' in encoded or b"\0" in encoded or encoded.count(b"\r") != encoded.count(b"\r\n"):
        return None  # quotes, NUL, line ends of a bare \r (pandas reads some of those apart)
    data = np.frombuffer(encoded, dtype=np.uint8)
    ends = np.flatnonzero(data == ord("\n"))  # bytes >= characters: a safe bound
    if np.diff(ends, prepend=-1, append=len(data)).max() > csv.field_size_limit():
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # any doubt: the csv module
            frame = pd.read_csv(io.StringIO(text), header=None, names=range(width),
                                index_col=False, skiprows=1, dtype=object, na_filter=False,
                                skip_blank_lines=False, engine="c")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, Warning):
        return None
    cells = frame.to_numpy(dtype=object)
    if _may_need_strip(data, len(encoded) == len(text)):
        for j in range(width):
            cells[:, j] = list(map(str.strip, cells[:, j]))
    keep = cells[:, 0] != ""
    rest = np.flatnonzero(~keep)  # usually few: check their other cells
    keep[rest] = (cells[rest] != "").any(axis=1)
    lines = np.arange(2, len(cells) + 2, dtype=np.int64)  # the header is line 1
    if keep.all():
        return cells, lines, 0
    return cells[keep], lines[keep], int((~keep).sum())


def read_table(raw: bytes) -> CsvTable:
    """Decode, check the header and read every data row (FileError when unreadable)."""
    text = decode(raw)
    try:
        header = [h.strip() for h in next(csv.reader(io.StringIO(text, newline="")), [])]
    except csv.Error as exc:
        raise FileError(f"the file is not readable as CSV: {exc}") from None
    if not any(header):
        raise FileError("the first line must be the header row with the column names")
    warnings = check_header(header)
    errors: list[RowError] = []
    read = _simple_records(text, len(header))
    try:
        cells, lines, blank = read if read is not None else _records(text, len(header), errors)
    except csv.Error as exc:
        raise FileError(f"the file is not readable as CSV: {exc}") from None
    if not len(lines):
        raise FileError("the file has a header but no data rows")
    if blank:
        warnings.append(f"{blank} blank row(s) skipped")
    position = {name: j for j, name in reversed(list(enumerate(header)))}
    empty = np.full(len(lines), "", dtype=object)
    frame = pd.DataFrame({name: cells[:, position[name]] if name in position else empty
                          for name in KNOWN_COLUMNS}, dtype=object)
    frame.insert(0, "line", lines)
    return CsvTable(frame, errors, warnings)
