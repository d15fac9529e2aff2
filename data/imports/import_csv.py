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
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from models.validation import is_noncharacter

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
    # column -> (codes, distinct texts) when the reader had them (see _simple_records)
    factorized: dict[str, tuple[np.ndarray, list[str]]] = field(default_factory=dict)


MAX_ERRORS_PER_FIELD = 20
# the cell's value (quoted first) and numbers; not PHQ-9, item_3 or U+001B
_RULE_VALUE = re.compile(r"^'.*?' |(?<![A-Za-z0-9_+-])[0-9][0-9.:-]*")


def _escaped(char: str) -> str:
    if unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp") or is_noncharacter(char):
        return f"\\u{ord(char):04x}"
    return char


def rule_of(reason: str) -> str:
    """A refusal without the cell's value and numbers: what is counted per field."""
    return _RULE_VALUE.sub(lambda m: "… " if m.group().startswith("'") else "…", reason)


def shown(value: object, limit: int = 40) -> str:
    """A cell's text as a report may echo it: at most `limit` characters, control
    characters, line separators, surrogates and noncharacters escaped (nothing reaches a
    terminal raw)."""
    text = str(value)
    cut = text if len(text) <= limit else text[:limit]
    cut = "".join(map(_escaped, cut))
    return cut if len(text) <= limit else f"{cut}… ({len(text)} characters)"


class ErrorLog(list):
    """Row errors with bounded memory: every error is counted per (field, rule), and only
    the first MAX_ERRORS_PER_FIELD of each field are kept as RowErrors (the list)."""

    def __init__(self, per_field: int = MAX_ERRORS_PER_FIELD) -> None:
        super().__init__()
        self.per_field = per_field
        self.kept: Counter[str] = Counter()
        self.counts: Counter[tuple[str, str]] = Counter()
        self.total = 0

    def append(self, error: RowError) -> None:
        self.total += 1
        self.counts[(error.field, rule_of(error.reason))] += 1
        if self.kept[error.field] < self.per_field:
            self.kept[error.field] += 1
            super().append(error)

    def extend(self, errors: Iterable[RowError]) -> None:  # type: ignore[override]
        for error in errors:
            self.append(error)

    def __iadd__(self, errors: Iterable[RowError]) -> ErrorLog:  # type: ignore[override]
        self.extend(errors)
        return self

    def add_many(self, field: str, lines: Sequence[int], reasons: Sequence[str]) -> None:
        """Errors of one field, given as parallel sequences (a column's refusals)."""
        n = len(lines)
        self.total += n
        for reason, count in Counter(reasons).items():
            self.counts[(field, rule_of(reason))] += count
        room = min(n, max(0, self.per_field - self.kept[field]))
        self.kept[field] += room
        super().extend(RowError(int(lines[i]), field, reasons[i]) for i in range(room))


def add_errors(errors: list[RowError], field: str, lines: Sequence[int],
               reasons: Sequence[str]) -> None:
    """Append one error per (line, reason) of `field` (in bulk for an ErrorLog)."""
    if isinstance(errors, ErrorLog):
        errors.add_many(field, lines, reasons)
    else:
        errors.extend(RowError(int(line), field, reason)
                      for line, reason in zip(lines, reasons, strict=True))


def error_summary(errors: list[RowError]) -> list[str]:
    """Report lines that say how many errors were not listed, by field and rule."""
    if not isinstance(errors, ErrorLog) or errors.total <= len(errors):
        return []
    lines = [f"{errors.total} errors in all; the first {errors.per_field} of each field are "
             "listed below. Counts by field and rule:"]
    for (name, rule), count in errors.counts.most_common(40):
        lines.append(f"  {count} x {name}: {shown(rule, 160)}")
    if len(errors.counts) > 40:
        lines.append(f"  ... and {len(errors.counts) - 40} other rule(s)")
    return lines


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


Factorized = tuple[np.ndarray, list[str]]  # a column as codes into its distinct texts


def _arrow_columns(encoded: bytes, width: int, n_rows: int,
                   quotes: bool) -> list[Factorized] | None:
    """The data rows' columns read by pyarrow (cells as written, `quotes`: quoted cells
    unquoted), dictionary-encoded; None when pyarrow is missing or refuses the file (a row
    of another width, a huge row, a line break in a quoted cell)."""
    try:
        import pyarrow as pa
        import pyarrow.csv as pa_csv
    except ImportError:  # a dependency of streamlit and pandas' optional reader
        return None
    names = [f"c{j}" for j in range(width)]
    try:
        table = pa_csv.read_csv(
            io.BytesIO(encoded),
            read_options=pa_csv.ReadOptions(skip_rows=1, column_names=names, use_threads=False),
            parse_options=pa_csv.ParseOptions(quote_char='"' if quotes else False,
                                              double_quote=quotes, escape_char=False,
                                              newlines_in_values=False,
                                              ignore_empty_lines=True),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False,
                quoted_strings_can_be_null=False))
    except (pa.ArrowException, ValueError):
        return None
    if table.num_rows != n_rows:
        return None
    columns = []
    for column in table.columns:
        encoded_column = column.combine_chunks().dictionary_encode()
        columns.append((encoded_column.indices.to_numpy(zero_copy_only=False).astype(np.intp),
                        encoded_column.dictionary.to_pylist()))
    return columns


def _strip(column: Factorized) -> Factorized:
    """The column with its texts stripped (texts that become equal merge)."""
    codes, texts = column
    stripped = [t.strip() for t in texts]
    if stripped == texts:
        return column
    new_codes, unique = pd.factorize(np.array(stripped, dtype=object))
    return new_codes[codes], list(unique)


_MOST_QUOTED = 0.25  # beyond this share of quoted lines, the csv module reads faster


def _quoted_lines_agree(encoded: bytes, starts: np.ndarray, ends: np.ndarray, quoted: np.ndarray,
                        line: np.ndarray, columns: list[Factorized]) -> bool:
    """Whether the csv module reads each line with a quote (`quoted`: 0-based physical
    lines) as one whole record with pyarrow's cells for it."""
    if not len(quoted):
        return True
    physical = [encoded[starts[i]:ends[i]].decode("utf-8").removesuffix("\r") + "\n"
                for i in quoted.tolist()]
    reader = csv.reader(physical)
    records = []
    try:
        for n, cells in enumerate(reader, 1):
            if reader.line_num != n:  # a quote left open: the record took the next line
                return False
            records.append(tuple(cells))
    except csv.Error:
        return False
    rows = np.searchsorted(line, quoted + 1)
    read = [np.array(texts, dtype=object)[codes[rows]] for codes, texts in columns]
    return records == list(zip(*read, strict=True))


def _simple_records(text: str, width: int) -> tuple[list[Factorized], np.ndarray, int] | None:
    """The data rows of a plain file, column by column, with their lines and the blank-row
    count, exactly as `_records` reads them; None when the file needs the csv module.

    A plain file has no NUL, no bare \r line end, no line break inside quotes, and every
    non-empty line has as many cells as the header. Then a row is one physical line, and
    in a line without quotes a cell is the text between two commas, for pyarrow's reader
    as for the csv module (empty lines are blank rows; lines of empty cells are found
    below). Lines with a quote (at most a quarter of them, not the header) are read
    again by the csv module and must give the same cells. Anything else (short or long
    rows, lines of spaces, a line over the csv field limit) goes to the csv module.
    tests/data/test_import_csv.py compares both readers.
    """
    encoded = text.encode("utf-8")
    if b"\0" in encoded or (
            b"\r" in encoded and encoded.count(b"\r") != encoded.count(b"\r\n")):
        return None
    data = np.frombuffer(encoded, dtype=np.uint8)
    ends = np.flatnonzero(data == ord("\n"))
    starts = np.concatenate(([0], ends + 1))
    ends = np.append(ends, len(data))
    if (ends - starts).max() > csv.field_size_limit():  # bytes >= characters: a safe bound
        return None
    if starts[-1] == len(data):  # the file ends with a line end: no last line
        starts, ends = starts[:-1], ends[:-1]
    quoted = np.unique(np.searchsorted(ends, np.flatnonzero(data == ord('"'))))
    if len(quoted) and (quoted[0] == 0 or len(quoted) > _MOST_QUOTED * len(starts)):
        return None
    length = ends - starts - (data[np.maximum(ends - 1, 0)] == ord("\r"))  # without \r\n
    line = np.arange(1, len(starts) + 1)[1:][length[1:] > 0]  # non-empty data lines
    columns = _arrow_columns(encoded, width, len(line), quotes=bool(len(quoted)))
    if columns is None or not _quoted_lines_agree(encoded, starts, ends, quoted, line, columns):
        return None
    columns = [_strip(column) for column in columns]  # distinct texts only: cheap
    keep = np.zeros(len(line), dtype=bool)
    for codes, texts in columns:
        keep |= codes != (texts.index("") if "" in texts else -1)
    blank = int(len(starts) - 1 - keep.sum())  # empty lines and lines of empty cells
    if not keep.all():
        columns = [(codes[keep], texts) for codes, texts in columns]
    return columns, line[keep], blank


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
    errors: list[RowError] = ErrorLog()
    read = _simple_records(text, len(header))
    try:
        if read is None:
            cells, lines, blank = _records(text, len(header), errors)
            columns = None
        else:
            columns, lines, blank = read
    except csv.Error as exc:
        raise FileError(f"the file is not readable as CSV: {exc}") from None
    if not len(lines):
        raise FileError("the file has a header but no data rows")
    if blank:
        warnings.append(f"{blank} blank row(s) skipped")
    position = {name: j for j, name in reversed(list(enumerate(header)))}
    empty = np.full(len(lines), "", dtype=object)
    factorized: dict[str, Factorized] = {}
    data = {}
    for name in KNOWN_COLUMNS:
        if name not in position:
            data[name] = empty
            if columns is not None:
                factorized[name] = (np.zeros(len(lines), dtype=np.intp), [""])
        elif columns is None:
            data[name] = cells[:, position[name]]
        else:
            codes, texts = factorized[name] = columns[position[name]]
            data[name] = np.array(texts, dtype=object)[codes] if texts else empty
    frame = pd.DataFrame(data, dtype=object)
    frame.insert(0, "line", lines)
    return CsvTable(frame, errors, warnings, factorized)
