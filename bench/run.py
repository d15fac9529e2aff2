"""Performance benchmark at clinic-network scale (issue 7); see docs/PERFORMANCE.md.

    python bench/run.py --scale S|M|L|XL [--json FILE] [--database-url URL] [--seed N]

Builds (or reuses from the bench cache) a synthetic store of the scale, works on a copy,
and prints one table: each figure's median beside a floor measured in the same run on
the same data, their ratio, the target and PASS/MISS. Not a test: it exits 0 whatever
the figures are (1 only when something fails to run). CI runs scale S.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.report import (  # noqa: E402
    MIB,
    Figure,
    Target,
    format_table,
    median,
    summary_line,
)

FIGURE_KEYS = ("patient_view", "summary_cold", "summary_warm", "page", "browser", "entry",
               "export", "export_xlsx", "export_memory", "save", "import")


def machine(database_url: str | None) -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = next((line.split(":", 1)[1].strip() for line in _read("/proc/cpuinfo").splitlines()
                if line.startswith("model name")), platform.processor() or "unknown")
    mem_kb = next((int(line.split()[1]) for line in _read("/proc/meminfo").splitlines()
                   if line.startswith("MemTotal")), 0)
    info = {
        "nproc": os.cpu_count(), "cpu": cpu, "ram_gib": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(), "loadavg_start": os.getloadavg(),
    }
    for package in ("pandas", "sqlalchemy", "streamlit", "plotly"):
        info[package] = __import__(package).__version__
    if database_url and not database_url.startswith("sqlite"):
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        engine = create_engine(make_url(database_url).set(database="postgres"))
        with engine.connect() as conn:
            info["postgresql"] = conn.execute(text("SHOW server_version")).scalar()
        engine.dispose()
    return info


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def store_counts() -> dict[str, int]:
    from sqlalchemy import text

    from data.store.db import get_engine

    with get_engine().connect() as conn:
        return {t: conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one()
                for t in ("patient", "course", "infusion", "assessment", "safetyalert")}


def memory_target(scale_name: str) -> Target:
    """Issue 13's bound on the app process: under 600 MB at L (and below), 1 GB at XL."""
    if scale_name == "XL":
        return Target("max", 1000 / 1.048576, "under 1 GB")
    return Target("max", 600 / 1.048576, "under 600 MB")


def page_figures(url: str, repeat: int, scale_name: str = "S") -> list[Figure]:
    """The Outcomes page (AppTest) and peak memory, from a fresh subprocess."""
    command = [sys.executable, str(ROOT / "bench" / "app_probe.py"), "--database-url", url,
               "--repeat", str(repeat)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "DATABASE_URL": url})
    if done.returncode != 0:
        raise RuntimeError(f"app probe failed:\n{done.stderr[-4000:]}")
    probe = json.loads(done.stdout.strip().splitlines()[-1])
    cold = [s * 1000 for s in probe["cold_s"]]
    floor_cold = [s * 1000 for s in probe["floor_cold_s"]]
    warm = [s * 1000 for s in probe["warm_s"]]
    floor_warm = [s * 1000 for s in probe["floor_warm_s"]]
    after_save = [s * 1000 for s in probe["after_save_s"]]
    updates = [s * 1000 for s in probe["update_after_save_s"]]
    self_patched = [s * 1000 for s in probe["after_save_self_patched_s"]]
    floor_label = "bare AppTest page: one plotly chart + a table"
    shown = f"{probe['charts']} charts, {probe['tables']} tables"
    return [
        Figure("page_cold", "Outcomes page render in AppTest, cold (empty caches)", "ms",
               median(cold), median(floor_cold), floor_label,
               Target("max", 1500, "at most 1.5 s"), samples=cold,
               floor_samples=floor_cold, note=shown),
        Figure("page_warm", "Outcomes page render in AppTest, warm (rerun)", "ms",
               median(warm), median(floor_warm), floor_label,
               Target("ratio_max", 3, "at most 3x the floor"), warm, floor_warm, shown),
        Figure("page_after_save", "Outcomes page render in AppTest, the run after one save",
               "ms", median(after_save), median(warm), "the warm rerun (same run)",
               Target("ratio_max", 1.5, "at most 1.5x the warm render"), after_save, warm,
               f"{shown}; the default view (headline + response section), after the "
               "worker patched the kept frames for the save (ui.outcome_cache."
               f"start_updates); under 1.0 s: {'yes' if median(after_save) <= 1000 else 'no'}"),
        Figure("page_update_after_save", "the worker's patch of the kept frames after one "
               "save (off the render)", "ms", median(updates), samples=updates,
               note="ui.outcome_cache.update_kept: the saved patient's facts, tables, counts "
                    "and waterfall; the cost that left the render"),
        Figure("page_after_save_self_patched", "Outcomes page render in AppTest after one "
               "save, patching the kept frames itself", "ms", median(self_patched),
               median(warm), "the warm rerun (same run)", samples=self_patched,
               floor_samples=warm,
               note="no worker (a save made by another server process): the render patches"),
        Figure("peak_memory", "peak memory of the app process (summary + Outcomes page)", "MiB",
               probe["peak_rss_bytes"] / MIB, target=memory_target(scale_name),
               note="max RSS of the probe subprocess"),
    ]


def browser_figures(url: str, repeat: int) -> list[Figure]:
    """The Outcomes page in a real browser, after one save (bench/browser_probe.py, in a
    subprocess: its own server, chromium, and the saves on the same store)."""
    command = [sys.executable, str(ROOT / "bench" / "browser_probe.py"), "--database-url",
               url, "--repeat", str(repeat)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "DATABASE_URL": url})
    if done.returncode != 0:
        raise RuntimeError(f"browser probe failed:\n{done.stderr[-4000:]}")
    probe = json.loads(done.stdout.strip().splitlines()[-1])
    warm, after = probe["warm_ms"], probe["after_save_ms"]
    return [
        Figure("browser_after_save", "Outcomes headline in a browser, after one save", "ms",
               median(after), median(warm), "the warm open (same browser, same run)",
               Target("max", 1000, "under 1 s"), after, warm,
               f"first open (cold server caches) {probe['first_open_ms']:.0f} ms"),
    ]


def measure(scale_name: str, seed: int, database_url: str | None, only: set[str],
            repeat: int | None) -> tuple[list[Figure], dict[str, Any]]:
    from dataclasses import replace

    from bench import figures as fig
    from bench.entry_probe import fast_entry
    from bench.stores import SCALES, bench_store, use_store

    scale = SCALES[scale_name]
    if repeat:
        scale = replace(scale, repeat=repeat)
    results: dict[str, list[Figure]] = {}
    with tempfile.TemporaryDirectory(prefix="clinic-bench-") as workdir, \
            bench_store(scale, seed, Path(workdir), database_url) as url:
        use_store(url)
        counts = store_counts()
        print(f"store: {counts}", flush=True)
        steps: list[tuple[str, Callable[[], list[Figure]]]] = [  # reads first, then writes
            ("patient_view", lambda: [fig.patient_view(scale, seed)]),
            ("summary_cold", lambda: [fig.outcome_summary_cold(scale)]),
            ("summary_warm", lambda: [fig.outcome_summary_warm(scale)]),
            ("page", lambda: page_figures(url, scale.repeat, scale.name)),
            ("browser", lambda: browser_figures(url, scale.repeat)),
            ("entry", lambda: fast_entry(max(scale.repeat, 3) * 9)),
            ("export", lambda: [fig.export_scores(scale)]),
            ("export_xlsx", lambda: [fig.export_scores_xlsx(scale)]),
            ("export_memory", lambda: fig.export_memory(url, memory_target(scale.name))),
            ("save", lambda: fig.infusion_save(scale, seed)),
            ("import", lambda: [fig.bulk_import(scale, seed)]),
        ]
        for key, step in steps:
            if only and key not in only:
                continue
            start = time.perf_counter()
            results[key] = step()
            print(f"  {key}: {time.perf_counter() - start:.0f} s", flush=True)
        from data.store.db import dispose_engines

        dispose_engines()
    order = ("import", "save", "patient_view", "summary_cold", "summary_warm", "page", "browser",
             "entry",
             "export", "export_xlsx", "export_memory")
    return [f for key in order for f in results.get(key, [])], counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Performance benchmark (issue 7)")
    parser.add_argument("--scale", choices=("S", "M", "L", "XL"), default="S",
                        help="XL (~10 M scores, 350,000 patients) is meant for PostgreSQL")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    parser.add_argument("--database-url", help="a PostgreSQL server to run on (a template "
                        "database is cached there and cloned per run); default: SQLite")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, help="repetitions of the slow figures")
    parser.add_argument("--only", default="", help=f"comma-separated subset of {FIGURE_KEYS}")
    args = parser.parse_args(argv)
    command = "python bench/run.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    info = machine(args.database_url)
    backend = "PostgreSQL" if args.database_url and not args.database_url.startswith(
        "sqlite") else "SQLite"
    print(f"scale {args.scale} on {backend}; {info['nproc']} CPUs ({info['cpu']}), "
          f"{info['ram_gib']} GiB, load average {info['loadavg_start'][0]:.1f}", flush=True)
    only = {k for k in args.only.split(",") if k}
    figures, counts = measure(args.scale, args.seed, args.database_url, only, args.repeat)
    info["loadavg_end"] = os.getloadavg()
    print()
    print(format_table(figures))
    print()
    print(summary_line(figures))
    if args.json:
        args.json.write_text(json.dumps({
            "command": command, "scale": args.scale, "backend": backend, "seed": args.seed,
            "store": counts, "machine": info, "figures": [f.as_dict() for f in figures],
        }, indent=1, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
