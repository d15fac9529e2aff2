"""'How this is computed': one short note per figure, from OUTCOMES.md (rule numbers in
brackets). Conventions of this app, not published rules, say so."""

from __future__ import annotations

NOTES = {
    "baseline": "Baseline = the first pre-infusion score of the course with a total (O1); a "
                "post score never is. If infusion 1 has no pre score, the next pre score is "
                "used and the infusion it came from is shown.",
    "latest": "Latest = the last score of the course after the baseline, in order of infusion "
              "number, then pre before post, then date (O2, C2).",
    "response_after_n": "Response = at least a 50 % fall from baseline: 2 x score <= baseline "
                        "(O4), on the post score of infusion N (or, by setting, the pre score "
                        "of N + 1) (O7). Observed: of courses with that score; ITT: of all "
                        "courses with a baseline, a missing score counting as no response. "
                        "Convention: a course with baseline 0 is not evaluable.",
    "remission_after_n": "Remission = score at or below the instrument's remission maximum "
                         "(PHQ-9 and GAD-7 <= 4, QIDS-SR16 <= 5, MADRS <= 10 by default, a "
                         "setting) (O5), at the same score as response (O7). Courses already "
                         "in remission at baseline stay in both denominators and are counted "
                         "apart.",
    "latest_rates": "The same rules on the latest score of each course (O2, O4, O5); observed "
                    "= courses with a score after the baseline.",
    "reliable": "Reliable improvement = a fall of at least the reliable change index (PHQ-9 "
                "6 points, GAD-7 4); deterioration = a rise of as much (O6). Other instruments "
                "have no RCI. Rates of evaluable courses, latest score.",
    "nhs": "NHS Talking Therapies, PHQ-9 with GAD-7 on the latest scores (O9): case at "
           "baseline = PHQ-9 >= 10 or GAD-7 >= 8; recovery = a case whose latest PHQ-9 < 10 and "
           "GAD-7 < 8, of cases at baseline. Reliable recovery also needs reliable improvement.",
    "item9": "PHQ-9 item 9 (thoughts of being better off dead or of self-harm) is positive "
             "when >= 1 (O10). Resolved = positive at baseline and answered 0 after infusion N, "
             "of baseline-positive courses answering item 9 then.",
    "item9_day_after": "The 24-hour check (O12): of the courses positive on item 9 at "
                       "baseline, those with a PHQ-9 follow-up dated the day of infusion 1 or "
                       "the day after are checked; resolved = the first such follow-up answers "
                       "item 9 with 0 (a blank item 9 there is not resolved).",
    "km": "Kaplan-Meier cumulative probability of a first response (remission) by the number "
          "of infusions received (O8): pre score of infusion k = k - 1 received, post = k. "
          "Courses that have not responded are censored at their last scored observation. "
          "Remission leaves out courses already in remission at baseline.",
    "waterfall": "One bar per evaluable course: percent change from baseline to the latest "
                 "score, 100 x (latest - baseline) / baseline (O3), largest rise on the left. "
                 "Bars at or below the -50 % line are responses (O4).",
    "severity": "Severity bands of the instrument (OUTCOMES.md section 1, inclusive), at "
                "baseline and at the latest score, for courses with both.",
    "breakdowns": "Response after infusion N per group, observed and ITT (O7). A group with "
                  "fewer courses than the small-cell setting shows its counts only: rates are "
                  "suppressed (O11). Clinician, route and dose band are those of the course's "
                  "first infusion; month = month of course start. Whiskers: 95 % Wilson "
                  "interval of the observed rate (an addition of this app), to read "
                  "differences between small groups with care.",
    "durability": "Convention: judged on pre-infusion scores (the state between infusions; a "
                  "post score shows the acute effect). Response is reached at the first pre "
                  "score at or below half the baseline and lost at the first later pre score "
                  "back above it (2 x score > baseline). Time from that response, in infusions "
                  "received and in weeks; responders who have kept it are censored at their "
                  "last pre score (Kaplan-Meier).",
    "boosters": "Booster interval = days from the previous infusion of the course to an "
                "infusion recorded as a booster. The overdue line is the protocol setting.",
    "safety": "Per infusion, for every course matching the filters (not only index courses): "
              "infusions with at least one side effect recorded, and with an adverse event "
              "(a recorded event, or the note of an older record), of all infusions.",
    "completeness": "Infusions with both a pre and a post score (with totals) of the chosen "
                    "instrument; courses without a baseline (no pre score with a total, O1); "
                    "administrations without a total (too many missing items, S2), which the "
                    "outcome figures leave out.",
    "attention": "Each patient's current course (latest start). Not improving: after 4 or more "
                 "infusions, no response yet and less than 25 % below baseline (a convention). "
                 "Losing response: responded once, latest no longer a response (a convention). "
                 "Overdue for booster: a responder with no infusion for more days than the "
                 "protocol setting. Open alert: an open PHQ-9 item-9 alert.",
    "courses": "One course per patient, the index (earliest) course, unless 'All courses' is "
               "chosen (C3). GAD-7 with one missing item is prorated (a convention, S2).",
}
