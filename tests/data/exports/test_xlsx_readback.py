"""The XLSX read-back of a large export reads the first rows of each sheet, not the
sheet whole (data/files/readback.py ``_xlsx_preview``): openpyxl's read-only sheet parsed
a write-only sheet to its end looking for its size (8 minutes of the XL scores export)."""

from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest
from openpyxl import Workbook

from data.files import readback
from data.files.readback import ExportReadBackError

ROWS = 3000  # ~40 bytes a row: ~120 KB of sheet XML


def _workbook() -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("scores")
    sheet.append(["patient", "total"])
    for n in range(ROWS):
        sheet.append([f"P-{n}", n % 28])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _edited(content: bytes, old: bytes, new: bytes, *, last: bool = False) -> bytes:
    """``content`` with the first (or last) ``old`` of its sheet's XML replaced."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(out, "w") as copy:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                at = data.rfind(old) if last else data.find(old)
                assert at >= 0
                data = data[:at] + new + data[at + len(old):]
            copy.writestr(info, data)
    return out.getvalue()


@pytest.fixture
def small_limits(monkeypatch):
    """A sheet over FULL_BYTES is sampled; its preview is its first 16 KB (~400 rows)."""
    monkeypatch.setattr(readback, "FULL_BYTES", 64 * 1024)
    monkeypatch.setattr(readback, "PREVIEW_BYTES", 16 * 1024)
    monkeypatch.setattr(readback, "SAMPLE_ROWS", 100)
    opened: list[int] = []
    real = openpyxl.load_workbook

    def spy(source, **kwargs):
        source.seek(0)
        with zipfile.ZipFile(source) as archive:
            opened.append(archive.getinfo("xl/worksheets/sheet1.xml").file_size)
        source.seek(0)
        return real(source, **kwargs)

    monkeypatch.setattr(openpyxl, "load_workbook", spy)
    return opened


def test_a_large_sheet_is_opened_from_its_first_rows_only(small_limits):
    content = _workbook()
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        whole = archive.getinfo("xl/worksheets/sheet1.xml").file_size
    assert whole > 64 * 1024  # over FULL_BYTES: sampled
    assert readback._xlsx(io.BytesIO(content)) == "sampled"
    tail = len(b"</sheetData></worksheet>")
    assert small_limits and small_limits[0] <= 16 * 1024 + tail  # not the whole sheet


def test_a_defect_in_the_first_rows_of_a_large_sheet_is_found(small_limits):
    broken = _edited(_workbook(), b"<v>0</v>", b"<v>zero</v>")  # a number that is not one
    with pytest.raises(ExportReadBackError, match="xlsx"):
        readback._xlsx(io.BytesIO(broken))


def test_a_small_workbook_is_opened_whole(monkeypatch):
    opened: list[int] = []
    real = openpyxl.load_workbook

    def spy(source, **kwargs):
        opened.append(1)
        return real(source, **kwargs)

    monkeypatch.setattr(openpyxl, "load_workbook", spy)
    handle = io.BytesIO(_workbook())
    assert readback._xlsx(handle) == "sampled"  # 3,000 rows: over SAMPLE_ROWS (2,000)
    assert opened == [1] and not handle.closed  # the caller's handle, left open
    broken = _edited(_workbook(), b"<v>0</v>", b"<v>zero</v>", last=True)
    with pytest.raises(ExportReadBackError, match="xlsx"):  # the last rows' defect is read
        monkeypatch.setattr(readback, "SAMPLE_ROWS", ROWS + 10)
        readback._xlsx(io.BytesIO(broken))
