"""The synthetic demo cohort: one deterministic generator shared by `manage.py seed-demo`
and the tests (as datasette's fixtures.py does with random.Random(42)).

`generate_demo` is pure: the same (n_patients, seed, today) gives the same records.
`seed_demo` writes them through data/store/bulk.py in one transaction, into a store that holds
no patients yet. Everything is labelled synthetic (clinics 'Demo North (synthetic)',
'Demo South (synthetic)', patient codes DEMO-00001..., notes "Synthetic demo record").
Scores are drawn from invented trajectories (data/seed/seed_schedule.py); totals come from
the scoring module. PHQ-9 and GAD-7 are taken before and after every infusion; MADRS
before infusion 1 and after infusion 6 for ~30% of patients; PHQ-9 follow-ups answered by
the patients through a link the day after infusion 1 and a week after infusion 6.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
from argon2 import PasswordHasher
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from data.clinic.protocol import PROTOCOL_DEFAULTS, load_protocol
from data.imports.import_records import alerts_for
from data.seed.seed_people import CLINICS, care, infusion_details, patient, staff
from data.seed.seed_schedule import PlannedInfusion, plan_patient
from data.seed.seed_scores import ITEM_WEIGHTS, allocate, blank_items, phq9_answers, score_all
from data.store import audit
from data.store.bulk import BulkRecords, paused_gc, write_records
from data.store.clinic_time import default_time_zone, today_in
from data.store.db import read_session, write_session
from models.access import SYSTEM
from models.tables import Patient
from outcomes.instruments import get_instrument

MADRS_RATE = 0.30
MISSING_ITEMS_RATE = 0.015  # PHQ-9 administrations with 1, 2 or 3 blank items
FOLLOWUP_RATE = 0.75  # patients answering a follow-up link
FOLLOWUP_AFTER_INDUCTION = 6  # a week after this infusion
_SLOT = ("clinic", "patient_code", "course_number")


@dataclass
class DemoCohort:
    """The generated cohort (users without password hashes: seed_demo adds them)."""

    seed: int
    today: date
    records: BulkRecords


def _functional_difficulty(total: int | None) -> int | None:
    """An invented, plausible question-10 answer that rises with the total."""
    return None if total is None else min(3, total // 7)


def _rows_for(infusions: list[dict], plans: list[PlannedInfusion], instrument: str):
    """(infusion index, timepoint, target, item 9) for every administration of one instrument."""
    attr = {"PHQ-9": "phq9", "GAD-7": "gad7", "MADRS": "madrs"}[instrument]
    rows = []
    for i, plan in enumerate(plans):
        for k, timepoint in enumerate(("pre", "post")):
            target = getattr(plan, attr)[k]
            if target is not None:
                rows.append((i, timepoint, target, plan.item9[k]))
    return rows


def _ensure_open_alert(rows: list[tuple], infusions: list[dict], today: date, window: int) -> list:
    """Make sure a recent PHQ-9 shows a positive item 9 (so the demo has an open alert)."""
    recent = [n for n, r in enumerate(rows)
              if (today - infusions[r[0]]["administered_on"]).days <= window]
    if recent and not any(rows[n][3] >= 1 for n in recent):
        latest = max(recent, key=lambda n: (infusions[rows[n][0]]["administered_on"], n))
        i, timepoint, target, _ = rows[latest]
        rows[latest] = (i, timepoint, max(target, 1), 1)
    return rows


def _answers(rng: np.random.Generator, instrument: str, rows: list[tuple]) -> list[list]:
    """Item answers adding up to each (rounded, clipped) target; a few PHQ-9 items blank."""
    inst = get_instrument(instrument)
    targets = np.clip(np.rint([r[2] for r in rows]), inst.total_min, inst.total_max).astype(int)
    if instrument == "PHQ-9":
        answers = phq9_answers(rng, targets, np.array([r[3] for r in rows], dtype=int))
        missing = np.where(rng.random(len(rows)) < MISSING_ITEMS_RATE,
                           rng.choice([1, 1, 1, 2, 2, 3], size=len(rows)), 0)
        return blank_items(rng, answers, missing, among=8)
    return allocate(rng, targets, ITEM_WEIGHTS[instrument], inst.item_max).tolist()


def _assessments(rng: np.random.Generator, infusions: list[dict], plans: list[PlannedInfusion],
                 today: date, window: int) -> list[dict]:
    records = []
    for instrument in ("PHQ-9", "GAD-7", "MADRS"):
        rows = _rows_for(infusions, plans, instrument)
        if instrument == "PHQ-9":
            rows = _ensure_open_alert(rows, infusions, today, window)
        if not rows:
            continue
        scores = score_all(instrument, _answers(rng, instrument, rows))
        for (i, timepoint, _target, _), result in zip(rows, scores, strict=True):
            inf = infusions[i]
            is_phq9 = instrument == "PHQ-9"
            records.append({
                **{k: inf[k] for k in _SLOT}, "infusion_number": inf["number"],
                "timepoint": timepoint, "instrument": instrument,
                "administered_on": inf["administered_on"], "items": list(result.items),
                "functional_difficulty": _functional_difficulty(result.total) if is_phq9 else None,
                "total": result.total, "severity": result.severity, "complete": result.complete,
                "item9": result.items[8] if is_phq9 else None, "source": "clinician",
                "entered_by_username": inf["clinician_code"],
            })
    return records + _followups(rng, infusions, plans, today)


def _followups(rng: np.random.Generator, infusions: list[dict], plans: list[PlannedInfusion],
               today: date) -> list[dict]:
    """PHQ-9 follow-ups the patients answered through a link (OUTCOMES.md C4, O12): the day
    after infusion 1 (the 24-hour check) and a week after the last induction infusion, when
    no infusion comes first; about three patients in four answer each."""
    wanted = []  # (infusion index, day, target, item 9)
    for i, plan in enumerate(plans):
        following = i + 1 < len(plans) and infusions[i + 1]["course_number"] == \
            infusions[i]["course_number"] and infusions[i + 1]["patient_code"] == \
            infusions[i]["patient_code"]
        next_day = infusions[i + 1]["administered_on"] if following else None
        gap = 1 if plan.number == 1 else 7 if plan.number == FOLLOWUP_AFTER_INDUCTION else None
        if gap is None or rng.random() >= FOLLOWUP_RATE:
            continue
        day = plan.day + timedelta(days=gap)
        if day > today or (next_day is not None and next_day <= day):
            continue
        after = plans[i + 1].phq9[0] if following else plan.phq9[1]
        item9 = 0 if plan.item9[0] >= 1 and rng.random() < 0.6 else min(plan.item9)
        wanted.append((i, day, (plan.phq9[1] + after) / 2, item9))
    if not wanted:
        return []
    targets = np.clip(np.rint([w[2] for w in wanted]), 0, 27).astype(int)
    answers = phq9_answers(rng, targets, np.array([w[3] for w in wanted], dtype=int))
    records = []
    for (i, day, _, _), result in zip(wanted, score_all("PHQ-9", answers.tolist()), strict=True):
        inf = infusions[i]
        records.append({
            **{k: inf[k] for k in _SLOT}, "infusion_number": inf["number"],
            "timepoint": "followup", "instrument": "PHQ-9", "administered_on": day,
            "items": list(result.items), "functional_difficulty": None, "total": result.total,
            "severity": result.severity, "complete": result.complete, "item9": result.items[8],
            "source": "patient_remote", "entered_by_username": None,
            "completed_at": datetime.combine(day, time(20, 30), tzinfo=UTC),
        })
    return records


def _treatment(rnd: random.Random, patients: list[dict], clinicians_of: dict, today: date):
    """Courses and infusions of every patient, with each infusion's plan and care."""
    courses, infusions, plans, cares = [], [], [], []
    for person in patients:
        how = care(rnd, clinicians_of[person["clinic"]])
        key = {"clinic": person["clinic"], "patient_code": person["patient_code"]}
        for course in plan_patient(rnd, today, madrs=rnd.random() < MADRS_RATE):
            courses.append({**key, "number": course.number, "course_type": "induction",
                            "start_date": course.infusions[0].day, "status": course.status})
            for plan in course.infusions:
                infusions.append({**key, "course_number": course.number, "number": plan.number,
                                  "administered_on": plan.day, "infusion_type": plan.kind})
                plans.append(plan)
                cares.append(how)
    return courses, infusions, plans, cares


def generate_demo(n_patients: int = 120, seed: int = 42, today: date | None = None, *,
                  alert_window_days: int = PROTOCOL_DEFAULTS["import_alert_window_days"],
                  ) -> DemoCohort:
    """The synthetic cohort as records, dated up to `today`; deterministic given its inputs."""
    today = today or today_in(default_time_zone())
    rnd, rng = random.Random(seed), np.random.default_rng(seed)
    users = staff(n_patients)
    clinicians_of = {code: [u["username"] for u in users if u.get("clinics") == [code]]
                     for code, _ in CLINICS}
    patients = [patient(rnd, number, today) for number in range(1, n_patients + 1)]
    courses, infusions, plans, cares = _treatment(rnd, patients, clinicians_of, today)
    infusion_details(rng, infusions, cares, clinicians_of)
    assessments = _assessments(rng, infusions, plans, today, alert_window_days)
    records = BulkRecords(
        clinics=[{"code": code, "name": name} for code, name in CLINICS], users=users,
        patients=patients, courses=courses, infusions=infusions, assessments=assessments,
        alerts=alerts_for(assessments, today, alert_window_days))
    return DemoCohort(seed, today, records)


def _refuse_non_empty(session: Session) -> None:
    held = session.execute(select(func.count()).select_from(Patient)).scalar_one()
    if held:
        raise ValueError(f"The store already holds {held} patient(s); the demo cohort is only "
                         "seeded into an empty store (point DATABASE_URL at a new file).")


def seed_demo(*, n_patients: int, seed: int, today: date | None = None,
              engine: Engine | None = None, password: str = "demo-password") -> dict[str, int]:
    """Write the demo cohort in one transaction; counts of what was created."""
    with read_session(engine) as session:
        _refuse_non_empty(session)
        window = load_protocol(session)["import_alert_window_days"]
    with paused_gc():
        cohort = generate_demo(n_patients, seed, today, alert_window_days=window)
        hashed = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1).hash(password)
        users = [{**user, "password_hash": hashed} for user in cohort.records.users]
        records = dataclasses.replace(cohort.records, users=users)
        with write_session(engine) as session:
            _refuse_non_empty(session)
            counts = write_records(session, records)
            counts["alerts_open"] = sum(a["status"] == "open" for a in records.alerts)
            audit.record(session, actor=SYSTEM, action="seed_demo", entity="demo",
                         new={"seed": seed, "today": cohort.today.isoformat(), "created": counts})
    return counts
