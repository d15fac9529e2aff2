"""Published outcome benchmarks kept as data (``data/analytics/benchmarks/published.json``), shown
beside the clinic's headline response and remission: a versioned file with each figure's
citation, population, definition and timepoint. ``load_benchmarks`` validates the file
and raises ``BenchmarkFileError`` (a ``ValueError``) naming the field and the rule."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PUBLISHED = Path(__file__).resolve().parent / "benchmarks" / "published.json"
MEASURES = ("response", "remission", "worse")
TEXT_FIELDS = ("id", "short", "citation", "instrument", "population")
FIGURE_TEXT = ("definition", "timepoint")


class BenchmarkFileError(ValueError):
    """The benchmark file breaks a rule (the message names the field)."""


def load_benchmarks(path: Path = PUBLISHED) -> dict[str, Any]:
    """The validated file: ``version``, ``updated``, ``note`` and ``benchmarks``."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise BenchmarkFileError(f"{Path(path).name}: not valid JSON ({exc.msg})") from exc
    validate(data)
    return data


def validate(data: Any) -> None:
    if not isinstance(data, dict):
        raise BenchmarkFileError("file: must be a JSON object")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise BenchmarkFileError("version: must be a whole number of at least 1")
    for key in ("updated", "note"):
        _text(data, key, key)
    benchmarks = data.get("benchmarks")
    if not isinstance(benchmarks, list) or not benchmarks:
        raise BenchmarkFileError("benchmarks: must be a non-empty list")
    seen: set[str] = set()
    for i, item in enumerate(benchmarks):
        where = f"benchmarks[{i}]"
        if not isinstance(item, dict):
            raise BenchmarkFileError(f"{where}: must be an object")
        for key in TEXT_FIELDS:
            _text(item, key, f"{where}.{key}")
        if item["id"] in seen:
            raise BenchmarkFileError(f"{where}.id: {item['id']!r} is used twice")
        seen.add(item["id"])
        n = item.get("n_patients")
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise BenchmarkFileError(f"{where}.n_patients: must be a whole number of at least 1")
        figures = item.get("figures")
        if not isinstance(figures, list) or not figures:
            raise BenchmarkFileError(f"{where}.figures: must be a non-empty list")
        for j, figure in enumerate(figures):
            _figure(figure, f"{where}.figures[{j}]")


def _figure(figure: Any, where: str) -> None:
    if not isinstance(figure, dict):
        raise BenchmarkFileError(f"{where}: must be an object")
    if figure.get("measure") not in MEASURES:
        raise BenchmarkFileError(f"{where}.measure: must be one of {', '.join(MEASURES)}")
    value = figure.get("value")
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 1:
        raise BenchmarkFileError(f"{where}.value: must be a fraction from 0 to 1")
    for key in FIGURE_TEXT:
        _text(figure, key, f"{where}.{key}")


def _text(item: dict, key: str, where: str) -> None:
    value = item.get(key)
    if not isinstance(value, str) or not value.strip():
        raise BenchmarkFileError(f"{where}: must be non-empty text")


def benchmark_rows(data: dict[str, Any], instrument: str) -> list[dict[str, Any]]:
    """One row per published figure of ``instrument``: source, measure, value, definition,
    timepoint, population (the table beside the headline)."""
    return [{"source": item["short"], "measure": figure["measure"], "value": figure["value"],
             "definition": figure["definition"], "timepoint": figure["timepoint"],
             "population": item["population"], "citation": item["citation"]}
            for item in data["benchmarks"] if item["instrument"] == instrument
            for figure in item["figures"]]
