"""One export in a fresh process: its seconds and the process's peak memory (max RSS),
printed as one JSON line. Used by bench/figures.py (`export_memory`).

    python bench/export_probe.py --database-url URL --kind scores --format xlsx
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def peak_rss() -> int:
    """This process's peak resident memory, bytes: VmHWM, the high-water mark of its own
    address space. (`getrusage(RUSAGE_SELF).ru_maxrss` is not: Linux carries it over
    exec from the parent, so a probe started by a bench holding a 1 GB frame said 1 GB.)"""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--kind", default="scores")
    parser.add_argument("--format", default="csv")
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.database_url
    from bench.figures import director
    from data.exports import ExportRequest, run_export

    actor = director()
    with tempfile.TemporaryDirectory(prefix="export-probe-") as workdir:
        target = Path(workdir) / f"export.{args.format}"
        start = time.perf_counter()
        result = run_export(actor=actor, request=ExportRequest(args.kind, args.format),
                            path=target)
        seconds = time.perf_counter() - start
        size = target.stat().st_size
    print(json.dumps({"seconds": seconds, "bytes": size,
                      "rows": result.manifest["row_count"], "peak_rss_bytes": peak_rss()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
