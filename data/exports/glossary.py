"""Definitions printed in the quality report and in the outcomes export's definitions
sheet, worded from OUTCOMES.md (the clinical contract); conventions say so."""

from __future__ import annotations

from data.files.columns import ColumnSpec


def report_definitions(after_n: int, timepoint_rule: str, small_cell: int,
                       madrs_remission_max: int) -> list[tuple[str, str]]:
    """(term, definition) pairs for the report's definitions section."""
    after = (f"the post-infusion score of infusion {after_n}" if timepoint_rule == "post"
             else f"the pre-infusion score of infusion {after_n + 1} (setting)")
    return [
        ("Course", "An induction series plus the boosters that follow it. Clinic-wide rates "
         "count each patient's index (earliest) course unless the report says 'all courses' "
         "(C1, C3)."),
        ("Baseline", "The first pre-infusion score of the course that has a total; a "
         "post-infusion score is never a baseline (O1)."),
        ("Latest", "The last score of the course after the baseline (O2). Courses without "
         "one are not evaluable."),
        ("Response", "At least a 50% reduction from baseline: 2 x score <= baseline "
         "(20 -> 10 is a response, 21 -> 11 is not); undefined when the baseline is 0 (O4)."),
        ("Remission", "Score at or below the remission maximum: PHQ-9 <= 4, GAD-7 <= 4, "
         f"QIDS-SR16 <= 5, MADRS <= {madrs_remission_max} (a setting; trials also use < 10 "
         "and <= 12). Courses already in remission at baseline stay in the denominators "
         "and are counted separately (O5)."),
        (f"After infusion {after_n}", f"The outcome at {after} (O7). Evaluable: baseline > 0 "
         "and that score exists after the baseline."),
        ("Observed vs ITT", "Observed rates divide by the evaluable courses; intention-to-treat "
         "(ITT) rates divide by every course with a baseline, a missing outcome counting as "
         "neither response nor remission (O7). Both are always shown."),
        ("Reliable change", "A change of at least the reliable change index: 6 points on the "
         "PHQ-9, 4 on the GAD-7; none defined for the other instruments (O6)."),
        ("Time to first response", "Infusions received at the first score after baseline "
         "meeting the response rule; the Kaplan-Meier estimate censors courses at the last "
         "infusions-received value observed (O8)."),
        ("NHS Talking Therapies paired measures", "PHQ-9 with GAD-7, latest scores. Case at "
         "baseline: PHQ-9 >= 10 or GAD-7 >= 8. Recovery: a case whose latest PHQ-9 < 10 and "
         "GAD-7 < 8. Reliable improvement: either falls by its RCI and neither rises by its "
         "RCI; reliable recovery: both. Recovery rates divide by cases at baseline, "
         "improvement and deterioration rates by all paired courses (O9)."),
        ("PHQ-9 item 9", "The suicidal-ideation item, positive when >= 1. Emergent: baseline 0 "
         f"and later positive; resolved: baseline-positive and 0 after infusion {after_n} "
         "(O10)."),
        ("Small cells", f"A breakdown cell with fewer than {small_cell} courses shows its "
         "course count only; its rates are suppressed (O11, a protocol setting)."),
        ("Missing items", "A PHQ-9 with up to 2 of 9 items missing is prorated (missing items "
         "replaced by the mean of the answered ones, rounded half up); GAD-7 up to 1 of 7 "
         "(a convention). More missing: no total, excluded from outcomes (S2)."),
    ]


METRICS: dict[str, str] = {
    "n_courses": "Courses with any score of the instrument (C3 selection applied).",
    "n_with_baseline": "Courses with a baseline (O1): the ITT denominator.",
    "n_evaluable": "Courses with an evaluable outcome (O2 latest, or O7 after infusion N): "
                   "the observed denominator.",
    "n_baseline_in_remission": "Courses whose baseline is already in remission (O5).",
    "responders": "Courses meeting the response rule (O4).",
    "remitters": "Courses meeting the remission rule (O5).",
    "response_rate_observed": "responders / n_evaluable.",
    "response_rate_itt": "responders / n_with_baseline.",
    "remission_rate_observed": "remitters / n_evaluable.",
    "remission_rate_itt": "remitters / n_with_baseline.",
    "reliable_improvement": "Courses improving by at least the RCI (O6).",
    "reliable_deterioration": "Courses worsening by at least the RCI (O6).",
    "reliable_improvement_rate": "reliable_improvement / n_evaluable.",
    "reliable_deterioration_rate": "reliable_deterioration / n_evaluable.",
    "suppressed": "True when the clinic cell has fewer courses than the small-cell threshold "
                  "(O11): only the course counts are given.",
    "n_ever_responded": "Courses that ever met the response rule after baseline (O8).",
    "median_infusions": "Median infusions received at first response, among responders (O8).",
    "median_infusions_to_remission": "Median infusions received at first remission (O8).",
    "km_cumulative_response_by_N": "Kaplan-Meier cumulative probability of response by "
                                   "infusion N (O8).",
    "km_cumulative_remission_by_N": "Kaplan-Meier cumulative probability of remission by "
                                    "infusion N (O8).",
    "item9": "PHQ-9 item 9 counts (O10): positive at baseline, any positive, emergent, "
             "baseline-positive answered after N and resolved after N.",
    "nhs_paired_phq9_gad7_latest": "NHS Talking Therapies paired PHQ-9 + GAD-7 measures (O9).",
    "trend_by_start_month_after_infusion_N": "p-chart (D2): per month of course start, "
        "observed response after N (rate), centre = all responders / all evaluable, lower/upper "
        "= centre -/+ 3 sqrt(centre (1 - centre) / n) clipped to [0, 1], signal above/below; "
        "normal approximation (a convention). Small months: counts only.",
    "funnel_by_clinic_after_infusion_N": "Funnel plot (D3): per clinic, observed response "
        "after N (rate) against target = the overall rate; lower95/upper95 (z 1.96) and "
        "lower998/upper998 (z 3.09) = target -/+ z sqrt(target (1 - target) / n), clipped; "
        "signal outside 99.8 %. Small clinics: counts only.",
    "retention": "Retention (D1, infusions decide it): completed induction (last infusion >= "
        "I), in progress (not discontinued or completed, last infusion at most "
        "lapse_window_days before as_of), otherwise stopped after the last infusion; "
        "reached_infusion_k = courses with last >= k; completion_rate = completed / "
        "(completed + stopped); n_with_booster = completed courses with an infusion above I.",
}


def metric_definitions() -> list[tuple[str, ColumnSpec]]:
    """Metric glossary rows for the outcomes workbook's definitions sheet."""
    return [("(metric)", ColumnSpec(name, "text", text)) for name, text in METRICS.items()]
