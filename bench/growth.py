"""Growth of each figure with the store's size (issue 13): reads the JSON files of
`bench/run.py --json` (one per scale: S, M, L, XL, any backend), prints a Markdown table
(one row per figure, one column per run) and draws each figure against the store's score
rows (log axis) to a PNG with plotly + kaleido (the machine's Chromium).

    python bench/growth.py S.json M.json L.json [XL-pg.json] --png docs/performance-growth.png
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def load(paths: list[Path]) -> list[dict]:
    runs = [json.loads(p.read_text()) for p in paths]
    return sorted(runs, key=lambda r: r["store"]["assessment"])


def _value(figure: dict) -> str:
    value = figure["value"]
    if value is None:
        return "-"
    unit = figure["unit"]
    text = f"{value:,.0f}" if unit in ("rows/s", "MiB") or value >= 100 else f"{value:,.2f}"
    return f"{text} {unit}"


def _key(figure: dict) -> str:
    """A figure's label without the row count in brackets (it changes with the scale)."""
    return figure["label"].split(" (")[0]


def table(runs: list[dict]) -> str:
    heads = [f"{r['scale']} {r['backend']} ({r['store']['assessment']:,} scores)" for r in runs]
    labels = list(dict.fromkeys(_key(f) for r in runs for f in r["figures"]))
    lines = ["| figure | " + " | ".join(heads) + " |", "|---|" + "---|" * len(runs)]
    for label in labels:
        cells = []
        for run in runs:
            found = [f for f in run["figures"] if _key(f) == label]
            if not found:
                cells.append("-")
                continue
            figure = found[0]
            ratio = (f" ({figure['value'] / figure['floor']:.2f}x)"
                     if figure.get("floor") and figure["value"] is not None else "")
            cells.append(_value(figure) + ratio)
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(runs: list[dict], png: Path) -> None:
    from plotly.subplots import make_subplots

    labels = list(dict.fromkeys(_key(f) for r in runs for f in r["figures"]))
    cols = 3
    rows = -(-len(labels) // cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=labels,
                        horizontal_spacing=0.08, vertical_spacing=0.12)
    for k, label in enumerate(labels):
        points = [(r["store"]["assessment"], f["value"], f["unit"], r["backend"])
                  for r in runs for f in r["figures"] if _key(f) == label and f["value"]]
        for backend in dict.fromkeys(p[3] for p in points):
            mine = [p for p in points if p[3] == backend]
            fig.add_scatter(x=[p[0] for p in mine], y=[p[1] for p in mine],
                            mode="lines+markers", name=backend, showlegend=k == 0,
                            marker_color="#1f4e79" if backend == "SQLite" else "#c55a11",
                            row=k // cols + 1, col=k % cols + 1)
        if points:
            fig.update_yaxes(title_text=points[0][2], row=k // cols + 1, col=k % cols + 1)
        fig.update_xaxes(type="log", title_text="score rows", row=k // cols + 1,
                         col=k % cols + 1)
    fig.update_layout(width=1200, height=330 * rows, template="plotly_white",
                      title="Benchmark figures against store size", font_size=11)
    fig.update_yaxes(rangemode="tozero")  # growth shows against zero, not a zoomed band
    fig.update_annotations(font_size=11)
    fig.write_image(str(png))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--png", type=Path)
    args = parser.parse_args(argv)
    runs = load(args.runs)
    print(table(runs))
    if args.png:
        plot(runs, args.png)
        print(f"\nwrote {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
