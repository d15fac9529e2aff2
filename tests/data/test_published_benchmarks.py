"""The published benchmarks file (data/analytics/benchmarks/published.json) and its loader."""

from __future__ import annotations

import copy
import json

import pytest

from data.analytics.published_benchmarks import (
    PUBLISHED,
    BenchmarkFileError,
    benchmark_rows,
    load_benchmarks,
)


def figures(data: dict, source: str) -> list[tuple[str, float, str]]:
    item = next(b for b in data["benchmarks"] if b["short"] == source)
    return [(f["measure"], f["value"], f["timepoint"]) for f in item["figures"]]


def test_the_shipped_file_holds_the_cited_figures():
    data = load_benchmarks()
    assert data["version"] >= 1
    mcinnes = next(b for b in data["benchmarks"] if b["id"] == "mcinnes-2022")
    assert mcinnes["n_patients"] == 537 and "178" in mcinnes["population"]
    assert "J Affect Disord" in mcinnes["citation"] and "2022" in mcinnes["citation"]
    window = "14-31 days after an induction of 4-8 infusions"  # the wording
    assert figures(data, "McInnes et al. 2022") == [
        ("response", 0.536, window), ("remission", 0.289, window), ("worse", 0.084, window)]
    assert "below 5" in mcinnes["figures"][1]["definition"]
    oliver = next(b for b in data["benchmarks"] if b["id"] == "oliver-2022")
    assert oliver["n_patients"] == 424
    assert "J Clin Psychiatry 83(6)" in oliver["citation"]
    assert figures(data, "Oliver et al. 2022") == [
        ("response", 0.5, "within 6 weeks"), ("remission", 0.2, "within 6 weeks"),
        ("response", 0.72, "after 10 infusions"), ("remission", 0.38, "after 10 infusions")]
    assert all("Kaplan-Meier" in f["definition"] for f in oliver["figures"])


def test_rows_per_instrument():
    data = load_benchmarks()
    rows = benchmark_rows(data, "PHQ-9")
    assert len(rows) == 7
    assert rows[0] == {**rows[0], "source": "McInnes et al. 2022", "measure": "response",
                       "value": 0.536}
    assert benchmark_rows(data, "GAD-7") == []


def _broken(change) -> dict:
    data = copy.deepcopy(json.loads(PUBLISHED.read_text(encoding="utf-8")))
    change(data)
    return data


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d.pop("version"), "version: must be a whole number"),
    (lambda d: d.update(version="1"), "version: must be a whole number"),
    (lambda d: d.update(benchmarks=[]), "benchmarks: must be a non-empty list"),
    (lambda d: d["benchmarks"][0].update(citation=" "), "benchmarks[0].citation: must be"),
    (lambda d: d["benchmarks"][1].update(id="mcinnes-2022"), "benchmarks[1].id: 'mcinnes-2022' "
                                                             "is used twice"),
    (lambda d: d["benchmarks"][0].update(n_patients=0), "benchmarks[0].n_patients"),
    (lambda d: d["benchmarks"][0]["figures"][1].update(value=53.6),
     "benchmarks[0].figures[1].value: must be a fraction from 0 to 1"),
    (lambda d: d["benchmarks"][1]["figures"][0].update(measure="recovery"),
     "benchmarks[1].figures[0].measure: must be one of response, remission, worse"),
    (lambda d: d["benchmarks"][1]["figures"][2].pop("definition"),
     "benchmarks[1].figures[2].definition: must be non-empty text"),
])
def test_a_broken_file_is_refused_naming_the_field(tmp_path, change, message):
    path = tmp_path / "published.json"
    path.write_text(json.dumps(_broken(change)), encoding="utf-8")
    with pytest.raises(BenchmarkFileError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_benchmarks(path)


def test_invalid_json_is_refused(tmp_path):
    path = tmp_path / "published.json"
    path.write_text("{", encoding="utf-8")
    with pytest.raises(BenchmarkFileError, match=r"published\.json: not valid JSON"):
        load_benchmarks(path)
