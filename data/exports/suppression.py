"""Small-cell suppression of the aggregate exports (OUTCOMES.md O11), made safe against
differencing: applied to every block of a de-identified summary, the overall ones
included, and to the differences between blocks.

Rules (threshold t = the protocol's `small_cell_threshold`; docs/EXPORTS.md):

1. Every rate block (a dict with `n_courses`) with fewer than t courses keeps its course
   counts (`n_courses`, `n_with_baseline`, `n_evaluable`) and nulls everything else,
   whatever block it is: overall, after infusion N, baseline cases, a month of a trend.
   The NHS paired block is the same with `n_paired`.
2. An instrument with fewer than t courses in all (a date range or a filter that
   catches one course) keeps its course counts only: every rate, count of responders,
   time-to-response figure, curve point and item-9 count is nulled.
3. Complementary suppression in a partition (the by-clinic blocks, and any other
   mapping of labels to blocks: months of a trend, clinics of a funnel): when the
   suppressed cells together hold fewer than t courses, the overall block minus the
   shown cells would reveal them, so the next smallest cell is suppressed too, until the
   suppressed cells together hold at least t courses (or every cell is suppressed). A
   block's size is its `n_courses`, or `n_evaluable` for blocks that count evaluable
   courses only (trend months, funnel clinics).
4. A clinic suppressed in one by-clinic block (the O7 cells, the funnel) is suppressed
   in every by-clinic block, so one cannot be read from the other.

Course counts stay visible (O11 shows them), so the differences of counts are known;
the outcomes of fewer than t courses are never derivable from one file.
"""

from __future__ import annotations

import copy
from typing import Any

COUNT_KEYS = frozenset({"n_courses", "n_with_baseline", "n_evaluable", "n_paired"})
# labels, and the overall rate a funnel or a control chart is drawn around
LABEL_KEYS = frozenset({"infusions", "month", "clinic", "label", "target", "centre"})


def blank(value: Any) -> Any:
    """`value` with every figure nulled except course counts and labels; blocks marked
    `suppressed`."""
    if isinstance(value, dict):
        out = {k: (v if k in COUNT_KEYS or k in LABEL_KEYS else blank(v))
               for k, v in value.items()}
        if size(value) is not None or "suppressed" in value:
            out["suppressed"] = True
        return out
    if isinstance(value, list):
        return [blank(v) for v in value]
    if isinstance(value, str):
        return value
    return None


def size(value: Any) -> int | None:
    """A block's number of courses (`n_courses`; `n_evaluable` for the blocks that count
    only evaluable courses: a month of a trend, a clinic of a funnel), or None."""
    if not isinstance(value, dict):
        return None
    for key in ("n_courses", "n_evaluable"):
        if isinstance(value.get(key), int) and not isinstance(value.get(key), bool):
            return value[key]
    return None


def _is_block(value: Any) -> bool:
    return size(value) is not None


def _is_partition(value: Any) -> bool:
    return (isinstance(value, dict) and bool(value)
            and all(_is_block(cell) for cell in value.values()))


def suppress_partition(cells: dict[str, dict], threshold: int,
                       also: set[str] = frozenset()) -> set[str]:
    """Suppress the small cells of a partition and, complementarily, enough of the next
    smallest ones (and the labels `also`); returns the labels suppressed (the dict is
    changed in place)."""
    sizes = {label: size(cell) for label, cell in cells.items()}
    hidden = {label for label, n in sizes.items() if n < threshold} | (set(also) & set(cells))
    shown = sorted((n, label) for label, n in sizes.items() if label not in hidden)
    while hidden and sum(sizes[h] for h in hidden) < threshold and shown:
        hidden.add(shown.pop(0)[1])
    for label in hidden:
        cells[label] = blank(cells[label])
    for label in set(cells) - hidden:
        if "suppressed" in cells[label]:
            cells[label]["suppressed"] = False
    return hidden


def _section(section: dict, threshold: int) -> dict:
    overall = section.get("overall_latest")
    if _is_block(overall) and size(overall) < threshold:
        return blank(section)
    clinics: set[str] = set()
    for _ in range(2):  # the clinics hidden in one by-clinic block are hidden in all
        for name, content in section.items():
            if _is_partition(content):
                hidden = suppress_partition(content, threshold,
                                            clinics if "by_clinic" in name else set())
                if "by_clinic" in name:
                    clinics |= hidden
            elif _is_block(content) and size(content) < threshold:
                section[name] = blank(content)
    return section


def suppress_summary(summary: dict, threshold: int | None, nhs_key: str) -> dict:
    """A copy of an outcome summary with rules 1-3 applied (unchanged when no threshold)."""
    if not threshold:
        return summary
    out = copy.deepcopy(summary)
    for key, section in out.items():
        if key == "parameters" or not isinstance(section, dict):
            continue
        if key == nhs_key:
            if isinstance(section.get("n_paired"), int) and section["n_paired"] < threshold:
                out[key] = {**blank(section), "suppressed": True}
            continue
        if _is_block(section):  # a top-level block (e.g. retention)
            out[key] = blank(section) if size(section) < threshold else section
            continue
        out[key] = _section(section, threshold)
    return out
