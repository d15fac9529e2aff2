"""bench/run.py imports and formats its table (fake figures; no store, no timing)."""

from __future__ import annotations

from bench import run
from bench.report import Figure, Target


def test_table_of_fake_figures() -> None:
    figures = [
        Figure("import", "bulk import, rows/s", "rows/s", 40_000.0, 100_000.0, "executemany",
               Target("ratio_min", 0.5, "at least half the floor")),
        Figure("summary_cold", "outcome summary, cold", "s", 1.2, 1.0, "read_sql + groupby",
               Target("ratio_max", 1.5, "at most 1.5x the floor")),
        Figure("save_p99", "save: p99", "ms", 12.5, target=Target("max", 30, "p99 under 30 ms")),
        Figure("save_p50", "save: p50", "ms", 8.25),
        Figure("peak_memory", "peak memory", "MiB", 2048.0,
               target=Target("max", 1536, "under 1.5 GB")),
    ]
    lines = run.format_table(figures).splitlines()
    assert lines[0] == "| figure | median | floor in the same run | ratio | target | result |"
    assert lines[2] == ("| bulk import, rows/s | 40,000 rows/s | 100,000 rows/s (executemany) "
                        "| 0.40x | at least half the floor | MISS |")
    assert lines[3] == ("| outcome summary, cold | 1.20 s | 1.00 s (read_sql + groupby) | 1.20x "
                        "| at most 1.5x the floor | PASS |")
    assert lines[4] == "| save: p99 | 12.5 ms | - | - | p99 under 30 ms | PASS |"
    assert lines[5] == "| save: p50 | 8.2 ms | - | - | - | - |"
    assert lines[6] == "| peak memory | 2,048 MiB | - | - | under 1.5 GB | MISS |"
    assert run.summary_line(figures) == (
        "2 of 4 targets met; missed: bulk import, rows/s; peak memory")
