"""Every export is read back before it counts as written: a file that its own format's
reader refuses (an XLSX whose XML is not well-formed, JSON that does not parse, a CSV
with another number of rows than the manifest says) is never handed over nor audited as
an export; `run_export` raises `ExportReadBackError` instead.

Cost, bounded (docs/EXPORTS.md):

- CSV and JSON, the whole file: a scan of its bytes for UTF-8 encoded noncharacters and
  surrogates (a C-speed regular expression); XLSX: the same scan of every unzipped part;
- XLSX: every XML part parsed by expat while it is unzipped, in chunks (well-formedness:
  what Excel needs), up to FULL_BYTES of XML per part, then openpyxl opens the workbook
  read-only and reads the first SAMPLE_ROWS rows of every sheet (a sheet larger than
  FULL_BYTES: from a copy cut after its first PREVIEW_BYTES, ``_xlsx_preview``);
- CSV: parsed by the csv module row by row (every row as wide as the header), the rows
  counted against the manifest, when the file is at most FULL_BYTES (64 MB); a larger
  file (a network's million scores) is parsed for its first SAMPLE_ROWS rows only;
- JSON and FHIR: parsed whole up to FULL_BYTES (the row or entry count compared), else
  the byte scan and the document's first and last characters;
- PDF: the header and the end-of-file marker.

- FHIR NDJSON (a ZIP of one file per resource type): every line of every file parsed
  up to FULL_BYTES per file (its resourceType the file's; the lines counted against the
  manifest), else the first SAMPLE_ROWS lines;

The manifest records what was checked: `read_back` = "full" or "sampled". A streamed
export is read back from its file (`content` a Path), in chunks: never whole in memory
when it is larger than FULL_BYTES.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import IO, Any
from xml.parsers import expat

FULL_BYTES = 64 * 1024 * 1024
SAMPLE_ROWS = 2000
_CHUNK = 1 << 20
PREVIEW_BYTES = 8 * 1024 * 1024  # of a sampled sheet: ~2000 rows of the widest export
PREVIEW_SPOOL_BYTES = 32 * 1024 * 1024

# UTF-8 of U+FDD0..U+FDEF, U+xFFFE/U+xFFFF of every plane, and surrogates (U+D800..DFFF)
_BAD_UTF8 = re.compile(
    rb"\xef\xb7[\x90-\xaf]|\xef\xbf[\xbe\xbf]|[\xf0-\xf4][\x8f\x9f\xaf\xbf]\xbf[\xbe\xbf]"
    rb"|\xed[\xa0-\xbf][\x80-\xbf]")


class ExportReadBackError(RuntimeError):
    """The export's bytes do not read back as their format: nothing was handed over."""


def _fail(fmt: str, why: str) -> ExportReadBackError:
    return ExportReadBackError(f"the {fmt} export did not read back ({why}); it was not "
                               "handed over nor recorded as an export")


def _scan_bytes(content: bytes, fmt: str, offset: int = 0) -> None:
    if content.isascii():  # every sequence it looks for starts with a byte over 0x7f
        return
    found = _BAD_UTF8.search(content)
    if found:
        raise _fail(fmt, f"a Unicode noncharacter or surrogate at byte {offset + found.start()}")


def _scan_file(handle: IO[bytes], fmt: str) -> None:
    """`_scan_bytes` over a file in chunks (each chunk with the previous one's last three
    bytes: a match is at most four bytes long)."""
    handle.seek(0)
    offset, carry = 0, b""
    while chunk := handle.read(_CHUNK):
        _scan_bytes(carry + chunk, fmt, offset - len(carry))
        offset += len(chunk)
        carry = chunk[-3:]
    handle.seek(0)


def _size(handle: IO[bytes]) -> int:
    handle.seek(0, io.SEEK_END)
    size = handle.tell()
    handle.seek(0)
    return size


def _xlsx(content: IO[bytes]) -> str:
    from openpyxl import load_workbook

    mode, sampled = "full", set()
    try:
        with zipfile.ZipFile(content) as archive:
            for info in archive.infolist():
                if not info.filename.endswith((".xml", ".rels")):
                    continue
                parser = expat.ParserCreate()
                read = 0
                with archive.open(info) as part:
                    while chunk := part.read(_CHUNK):
                        _scan_bytes(chunk, "xlsx")
                        parser.Parse(chunk, False)
                        read += len(chunk)
                        if read >= FULL_BYTES:
                            mode = "sampled"
                            sampled.add(info.filename)
                            break
                    else:
                        parser.Parse(b"", True)
            content.seek(0)
            preview = _xlsx_preview(archive, sampled) if sampled else None
        with preview or contextlib.nullcontext():  # the caller's own handle stays open
            source = preview or content
            workbook = load_workbook(source, read_only=True)
            for sheet in workbook.worksheets:
                for n, _ in enumerate(sheet.iter_rows(values_only=True)):
                    if n >= SAMPLE_ROWS:
                        mode = "sampled" if mode == "full" else mode
                        break
            workbook.close()
    except ExportReadBackError:
        raise
    except (zipfile.BadZipFile, expat.ExpatError, KeyError, ValueError, OSError) as exc:
        raise _fail("xlsx", f"{type(exc).__name__}: {str(exc)[:200]}") from None
    return mode


def _xlsx_preview(archive: zipfile.ZipFile, sampled: set[str]) -> IO[bytes]:
    """The workbook with each large sheet cut after the last whole row of its first
    PREVIEW_BYTES (and its sheetData closed), every other part as it is: what openpyxl
    opens for the sample. openpyxl's read-only sheet looks for a ``<dimension>`` before
    the rows, and a write-only sheet has none at its head: it parsed every sheet whole
    to find its size (the last 8 minutes of the XL scores export, ten sheets of a
    million rows). In a spooled file: memory bounded by the spool, not the sheets."""
    preview: IO[bytes] = tempfile.SpooledTemporaryFile(  # noqa: SIM115 (the caller closes it)
        max_size=PREVIEW_SPOOL_BYTES)
    with zipfile.ZipFile(preview, "w", zipfile.ZIP_STORED) as out:
        for info in archive.infolist():
            with archive.open(info) as part, out.open(info.filename, "w") as copy:
                if info.filename in sampled and info.filename.startswith("xl/worksheets/"):
                    head = part.read(PREVIEW_BYTES)
                    end = head.rfind(b"</row>")
                    if end < 0 or b"<sheetData" not in head[:end]:
                        raise _fail("xlsx", f"{info.filename}: no whole row in its first "
                                            f"{PREVIEW_BYTES} bytes")
                    copy.write(head[:end + len(b"</row>")] + b"</sheetData></worksheet>")
                else:
                    shutil.copyfileobj(part, copy, _CHUNK)
    preview.seek(0)
    return preview


def _csv(content: IO[bytes], expected_rows: int | None) -> str:
    full = _size(content) <= FULL_BYTES
    if full:
        try:
            text: IO[str] = io.StringIO(content.read().decode("utf-8"), newline="")
        except UnicodeDecodeError as exc:
            raise _fail("csv", f"not UTF-8 at byte {exc.start}") from None
    else:  # the sampled rows only are decoded
        text = io.TextIOWrapper(content, encoding="utf-8", newline="")
    reader = csv.reader(text, strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise _fail("csv", "no header row")
        rows = 0
        for row in reader:
            rows += 1
            if len(row) != len(header):
                raise _fail("csv", f"row {rows} has {len(row)} cells, the header "
                            f"{len(header)}")
            if not full and rows >= SAMPLE_ROWS:
                return "sampled"
    except csv.Error as exc:
        raise _fail("csv", str(exc)) from None
    except UnicodeDecodeError as exc:
        raise _fail("csv", f"not UTF-8 ({exc.reason})") from None
    finally:
        if isinstance(text, io.TextIOWrapper):
            text.detach()
    if expected_rows is not None and rows != expected_rows:
        raise _fail("csv", f"{rows} rows read back, {expected_rows} written")
    return "full"


def _json(content: IO[bytes], fmt: str, expected_rows: int | None, key: str | None) -> str:
    size = _size(content)
    if size > FULL_BYTES:
        first = content.read(1024).lstrip()
        content.seek(max(0, size - 1024))
        last = content.read().rstrip()
        if not (first.startswith(b"{") and last.endswith(b"}")):
            raise _fail(fmt, "not a JSON object")
        return "sampled"
    try:
        document = json.loads(content.read())
    except (ValueError, UnicodeDecodeError) as exc:
        raise _fail(fmt, f"not JSON: {str(exc)[:200]}") from None
    if key and expected_rows is not None:
        got = len(document.get(key) or []) if isinstance(document, dict) else None
        if got != expected_rows:
            raise _fail(fmt, f"{got} {key} read back, {expected_rows} written")
    return "full"


def _ndjson(content: IO[bytes], counts: dict[str, int]) -> str:
    """A ZIP of `Type.ndjson` files: every line a JSON resource of the file's type."""
    mode = "full"
    try:
        with zipfile.ZipFile(content) as archive:
            names = sorted(archive.namelist())
            expected = sorted(f"{kind}.ndjson" for kind, n in counts.items() if n)
            if names != expected:
                raise _fail("ndjson", f"files {names}, expected {expected}")
            for name in names:
                kind, read, lines = name.removesuffix(".ndjson"), 0, 0
                with archive.open(name) as part:
                    for line in part:
                        _scan_bytes(line, "ndjson", read)
                        read += len(line)
                        lines += 1
                        resource = json.loads(line)
                        if resource.get("resourceType") != kind:
                            raise _fail("ndjson", f"line {lines} of {name} is not a {kind}")
                        if read >= FULL_BYTES and lines >= SAMPLE_ROWS:
                            mode = "sampled"
                            break
                if mode == "full" and lines != counts[kind]:
                    raise _fail("ndjson", f"{lines} lines in {name}, {counts[kind]} written")
    except ExportReadBackError:
        raise
    except (zipfile.BadZipFile, ValueError, KeyError, OSError) as exc:
        raise _fail("ndjson", f"{type(exc).__name__}: {str(exc)[:200]}") from None
    return mode


def read_back(content: bytes | Path, fmt: str, *, kind: str, described: dict[str, Any]) -> str:
    """Check `content` (the bytes, or the file) as its format's reader would; 'full' or
    'sampled', or raise."""
    if isinstance(content, Path):
        with content.open("rb") as handle:
            return _read_back(handle, fmt, kind, described)
    return _read_back(io.BytesIO(content), fmt, kind, described)


def _read_back(content: IO[bytes], fmt: str, kind: str, described: dict[str, Any]) -> str:
    if fmt in ("csv", "json"):  # text; an XLSX's parts are scanned as they are unzipped
        _scan_file(content, fmt)
    row_kind = kind in ("patients", "infusions", "scores", "audit")
    rows = described.get("row_count") if row_kind else None
    if fmt == "xlsx":
        return _xlsx(content)
    if fmt == "csv":
        return _csv(content, rows)
    if fmt == "json":
        key = "entry" if kind == "fhir" else ("rows" if row_kind else None)
        expected = described.get("row_count") if kind == "fhir" else rows
        return _json(content, fmt, expected, key)
    if fmt == "ndjson":
        return _ndjson(content, described.get("rows") or {})
    if fmt == "pdf":
        head = content.read(5)
        size = _size(content)
        content.seek(max(0, size - 1024))
        if head != b"%PDF-" or b"%%EOF" not in content.read():
            raise _fail("pdf", "no PDF header or end-of-file marker")
        return "full"
    return "full"


def read_back_listing(content: bytes, fmt: str, rows: int) -> str:
    """The same check for the other files that leave the store (the Audit page's CSV,
    `manage.py alerts`): CSV with `rows` data rows, or a JSON list of `rows` items."""
    if fmt == "csv":
        _scan_bytes(content, fmt)
        return _csv(io.BytesIO(content), rows)
    mode = _json(io.BytesIO(content), fmt, None, None)
    if mode == "full" and len(json.loads(content)) != rows:
        raise _fail(fmt, f"the list read back is not {rows} items long")
    return mode
