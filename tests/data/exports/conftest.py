"""Fixtures for the export tests: the identifier store and helpers that read files back."""

from __future__ import annotations

import io
import subprocess
import zipfile

import pytest

from tests.data.exports.store import seed_identifier_store


@pytest.fixture
def actors(store_url):
    return seed_identifier_store()


def searchable_text(content: bytes, fmt: str) -> str:
    """Everything a reader of the file could see, as text (xlsx: every XML part; ndjson:
    every file of the ZIP; pdf: text)."""
    if fmt in ("xlsx", "ndjson"):
        with zipfile.ZipFile(io.BytesIO(content)) as z:
            return "\n".join(z.read(name).decode("utf-8") for name in z.namelist())
    if fmt == "pdf":
        done = subprocess.run(["pdftotext", "-layout", "-", "-"], input=content,
                              capture_output=True, check=True)
        return done.stdout.decode("utf-8") + content.decode("latin-1")
    return content.decode("utf-8")
