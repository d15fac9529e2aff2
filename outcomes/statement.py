"""'Our outcomes, honestly' (issue 14 item 7): a one-page statement of a clinic's outcomes
for its website or its referrers, built from the OUTCOMES.md section 6 summary (the dict
`export outcomes` writes), never recomputed from scores.

Pure formatting: the summary in, rows out (the CSV rows; the PDF prints the same rows).
The only arithmetic added is the 95 % Wilson score interval of each proportion, from the
summary's own counts. Small cells (O11): a proportion whose denominator is below the
small-cell threshold shows its counts only (no rate, no interval).
"""

from __future__ import annotations

import math
from typing import Any, cast

Z95 = 1.96
METHOD = ("95 % confidence intervals: Wilson score interval, z = 1.96 (Wilson 1927), "
          "computed from the counts shown; it stays inside 0-100 % and behaves at small n.")
FIELDS = ("section", "measure", "count", "denominator", "rate", "ci95_low", "ci95_high", "text")
DEFAULT_INSTRUMENT = "PHQ-9"


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval of successes / n, as fractions rounded to 4 decimals;
    None when n is 0.

    centre = (p + z^2 / 2n) / (1 + z^2 / n),
    half   = z / (1 + z^2 / n) x sqrt(p (1 - p) / n + z^2 / 4n^2)."""
    if n <= 0:
        return None
    if not 0 <= successes <= n:
        raise ValueError(f"successes: must lie between 0 and n ({n}), got {successes}")
    p = successes / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)


def _row(section: str, measure: str, *, count: int | None = None,
         denominator: int | None = None, rate: float | None = None,
         ci: tuple[float, float] | None = None, text: str = "") -> dict[str, Any]:
    return {"section": section, "measure": measure, "count": count,
            "denominator": denominator, "rate": rate,
            "ci95_low": ci[0] if ci else None, "ci95_high": ci[1] if ci else None,
            "text": text}


def _proportion(measure: str, count: int | None, denominator: int | None, rate: float | None,
                small_cell: int, size_word: str, text: str,
                size: int | None = None) -> dict[str, Any]:
    """A proportion row; when `size` (default: the denominator) is below the small-cell
    threshold, counts only (O11)."""
    known = denominator if size is None else size
    if count is None or known is None:  # suppressed upstream (data/exports/suppression.py)
        return _row("outcomes", measure, count=None, denominator=denominator,
                    text=f"{text} suppressed (small-cell rule)".strip())
    if known < small_cell:
        note = (f"fewer than {small_cell} {size_word}: counts only, no rate "
                "(small-cell rule)")
        return _row("outcomes", measure, count=count, denominator=denominator,
                    text=f"{text} {note}".strip())
    # a known size means a known denominator: suppression keeps every course count
    return _row("outcomes", measure, count=count, denominator=denominator, rate=rate,
                ci=wilson_interval(count, cast(int, denominator)), text=text)


def period_text(start: str | None, end: str | None) -> str:
    """The course start range in words."""
    if not start and not end:
        return "all courses in the record (no date limit)"
    return f"courses starting from {start or 'the first course'} to {end or 'the latest course'}"


def build_statement(summary: dict[str, Any], *, start: str | None = None,
                    end: str | None = None, clinics: str = "all clinics",
                    instrument: str = DEFAULT_INSTRUMENT) -> list[dict[str, Any]]:
    """The statement's rows (FIELDS) from a section 6 summary with its `parameters` and
    `retention` blocks."""
    params = summary["parameters"]
    n, small_cell = params["after_n"], params["small_cell"]
    retention = summary["retention"]
    block = summary.get(instrument, {}).get(f"after_infusion_{n}")
    who = "courses" if params["all_courses"] else "patients"
    induction = retention["induction_length"]
    timepoint = ("the questionnaire after infusion" if params["timepoint_rule"] == "post"
                 else "the questionnaire before infusion {n1} (setting), i.e. after infusion")
    rows = [
        _row("about", "period", text=period_text(start, end)),
        _row("about", "clinics", text=clinics),
        _row("about", "instrument", text=f"{instrument} (depression questionnaire)"),
        _row("about", "counting", text=(
            "every course counted" if params["all_courses"]
            else "one course per patient: each patient's first course in the period")),
        _row("about", "method", text=METHOD),
        _row("outcomes", f"{who} started", count=retention["n_courses"],
             text="started a course of infusions in the period"),
        _row("outcomes", "still in induction", count=retention["n_in_progress"],
             text=f"not yet at infusion {induction} and seen in the last "
                  f"{retention['lapse_window_days']} days: not counted as completed or stopped"),
        _proportion("completed induction", retention["n_completed_induction"],
                    None if retention["n_completed_induction"] is None
                    or retention["n_stopped"] is None
                    else retention["n_completed_induction"] + retention["n_stopped"],
                    retention["completion_rate"], small_cell, "finished or stopped courses",
                    f"received at least {induction} infusions, of those who completed "
                    "or stopped"),
    ]
    if block is None:
        rows.append(_row("outcomes", f"{instrument} outcomes",
                         text=f"no {instrument} scores for these filters"))
        return rows + _definitions(instrument, n, induction, small_cell, timepoint)
    evaluable, with_baseline = block["n_evaluable"], block["n_with_baseline"]
    rows.append(_row("outcomes", "with a baseline score", count=with_baseline,
                     text="answered the questionnaire before treatment"))
    rows.append(_row("outcomes", f"with a score after infusion {n}", count=evaluable,
                     text="evaluable: a baseline above 0 and a score after infusion "
                          f"{n}"))
    for label, key in (("response", "responders"), ("remission", "remitters")):
        for which, denominator, text in (
                ("observed", evaluable, f"of courses with a score after infusion {n}"),
                ("ITT", with_baseline, "of all courses with a baseline; a missing score "
                                       f"counts as no {label}")):
            rows.append(_proportion(
                f"{label} after infusion {n} ({which})", block[key], denominator,
                block[f"{label}_rate_{which.lower()}"], small_cell, "evaluable courses",
                text, size=evaluable))
    return rows + _definitions(instrument, n, induction, small_cell, timepoint)


def _definitions(instrument: str, n: int, induction: int, small_cell: int,
                 timepoint: str) -> list[dict[str, Any]]:
    remission = {"PHQ-9": "a score of 4 or less (no more than minimal symptoms)",
                 "GAD-7": "a score of 4 or less (no more than minimal symptoms)"}.get(
        instrument, "a score at or below the questionnaire's remission cut-off")
    plain = [
        ("baseline", f"the first {instrument} answered before an infusion of the course"),
        ("response", "the score fell by at least half from the baseline"),
        ("remission", remission),
        (f"after infusion {n}", f"{timepoint.format(n1=n + 1)} {n}, the end of a standard "
                               "induction"),
        ("observed", "counts only the courses that have that score: it can look better "
                     "than reality when those who did poorly stopped answering"),
        ("ITT", "intention to treat: every course with a baseline, a missing score counted "
                "as not better; the cautious figure"),
        ("completed induction", f"received at least {induction} infusions; courses that "
                                "stopped earlier count against it"),
        ("small numbers", f"rates are not shown for fewer than {small_cell} courses "
                          "(too few to mean much, and to protect privacy)"),
    ]
    return [_row("definition", name, text=text) for name, text in plain]


def percent(value: float | None) -> str:
    """A fraction as a percentage with one decimal, '' when None."""
    return "" if value is None else f"{100 * value:.1f} %"
