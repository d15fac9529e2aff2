"""Warm reruns of the Outcomes page in AppTest, for profiling what bench/run.py's page
figure measures: wall time and the CPU time of the script thread per rerun (the CPU time
moves much less with the machine's load than the wall time), optionally under py-spy.

    python bench/page_profile.py --database-url sqlite:////tmp/l.db [--runs 40]
        [--section "Needs attention"] [--py-spy out.txt]

Use a copy of a bench store (~/.cache/ketamine-outcomes-bench/<scale>-*.db): signing in
writes audit events. Not part of the benchmark.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _quantiles(values: list[float]) -> str:
    ordered = sorted(values)
    return (f"min {1000 * ordered[0]:.1f} p25 {1000 * ordered[len(ordered) // 4]:.1f} "
            f"median {1000 * ordered[len(ordered) // 2]:.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--section", help="the tab to open first (default: the first)")
    parser.add_argument("--py-spy", help="record the warm reruns with py-spy into this file")
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.database_url

    from streamlit.runtime.scriptrunner import script_runner

    from bench.app_probe import _outcomes_page, _run
    from bench.stores import use_store

    use_store(args.database_url)
    cpu: list[float] = []
    run_script = script_runner.ScriptRunner._run_script

    def timed(self, *a, **k):
        start = time.thread_time()
        try:
            return run_script(self, *a, **k)
        finally:
            cpu.append(time.thread_time() - start)

    script_runner.ScriptRunner._run_script = timed
    page = _outcomes_page()
    if args.section:
        page.session_state["oc_section"] = args.section
    _run(page)  # cold: loads and caches
    _run(page)
    spy = None
    if args.py_spy:
        spy = subprocess.Popen(["py-spy", "record", "-r", "250", "-f", "raw", "-o", args.py_spy,
                                "--pid", str(os.getpid())])
        time.sleep(1.5)
    wall = [_run(page) for _ in range(args.runs)]
    if spy is not None:
        spy.send_signal(signal.SIGINT)
        spy.wait()
    print(f"{args.runs} warm reruns, {len(page.get('plotly_chart'))} charts, "
          f"{len(page.dataframe)} tables")
    print(f"wall: {_quantiles(wall)}")
    print(f"script-thread CPU: {_quantiles(cpu[-args.runs:])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
