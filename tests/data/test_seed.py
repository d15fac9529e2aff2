"""The synthetic demo cohort: deterministic, plausible, written in one go, refused twice."""

from __future__ import annotations

import csv
import io
import itertools
from collections import Counter, defaultdict
from datetime import date, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select
from sqlmodel import Session, SQLModel

from data.imports.importer import import_scores
from data.seed.seed import generate_demo, seed_demo
from models.access import SYSTEM
from models.tables import Assessment, AuditEvent, Infusion, Patient, SafetyAlert, User, UserClinic

TODAY = date(2025, 6, 1)


@pytest.fixture(scope="module")
def cohort():
    return generate_demo(120, seed=42, today=TODAY)


def test_same_seed_and_today_give_the_same_cohort(cohort):
    assert generate_demo(120, seed=42, today=TODAY) == cohort
    assert generate_demo(120, seed=43, today=TODAY).records != cohort.records
    assert generate_demo(120, seed=42, today=TODAY + timedelta(days=1)).records != cohort.records


def test_clinics_staff_and_patients_are_labelled_synthetic(cohort):
    r = cohort.records
    assert r.clinics == [{"code": "DEMO-N", "name": "Demo North (synthetic)"},
                         {"code": "DEMO-S", "name": "Demo South (synthetic)"}]
    clinicians = Counter(u["clinics"][0] for u in r.users if u["role"] == "clinician")
    assert clinicians["DEMO-N"] >= 3 and clinicians["DEMO-S"] >= 3
    roles = {u["username"]: (u["role"], u.get("all_clinics", False)) for u in r.users}
    assert roles["demo.director"] == ("director", True)
    assert roles["demo.auditor"] == ("auditor", True)
    assert roles["demo.clin1"] == ("clinician", False)
    assert len(r.patients) == 120
    assert r.patients[0]["patient_code"] == "DEMO-00001"
    assert r.patients[-1]["patient_code"] == "DEMO-00120"
    assert {p["notes"] for p in r.patients} == {"Synthetic demo record"}
    assert {p["clinic"] for p in r.patients} == {"DEMO-N", "DEMO-S"}
    trd = sum(p["indication"] == "TRD" for p in r.patients) / 120
    assert 0.45 <= trd <= 0.75  # ~60%
    assert {p["indication"] for p in r.patients} == {"TRD", "bipolar depression", "PTSD", "anxiety"}


def test_every_infusion_has_pre_and_post_phq9_and_gad7(cohort):
    r = cohort.records
    slots = defaultdict(set)
    for a in r.assessments:
        slots[(a["patient_code"], a["course_number"], a["infusion_number"])].add(
            (a["timepoint"], a["instrument"]))
    needed = {("pre", "PHQ-9"), ("post", "PHQ-9"), ("pre", "GAD-7"), ("post", "GAD-7")}
    infusions = [(i["patient_code"], i["course_number"], i["number"]) for i in r.infusions]
    assert len(set(infusions)) == len(infusions)
    assert all(needed <= slots[key] for key in infusions)
    assert set(slots) == set(infusions)


def test_courses_look_like_a_ketamine_clinic(cohort):
    r = cohort.records
    assert len(r.courses) >= 120
    per_patient = Counter(c["patient_code"] for c in r.courses)
    assert 1 <= sum(n == 2 for n in per_patient.values()) <= 30  # second courses (~10%)
    last = defaultdict(int)
    kinds = Counter()
    for i in r.infusions:
        key = (i["patient_code"], i["course_number"])
        last[key] = max(last[key], i["number"])
        kinds[i["infusion_type"]] += 1
        assert 0.5 <= i["dose_mg_per_kg"] <= 1.2 and 40 <= i["duration_min"] <= 60
        assert i["route"] in ("IV", "IM", "intranasal")
        assert i["bp_sys_peak"] >= i["bp_sys_before"] and i["administered_on"] <= TODAY
    assert kinds["booster"] > 0 and kinds["induction"] > 0
    assert any(n < 6 for n in last.values())  # dropouts or courses in progress
    routes = Counter(i["route"] for i in r.infusions)
    assert routes["IV"] > routes["IM"] + routes["intranasal"]
    by_course = defaultdict(list)
    for i in r.infusions:
        by_course[(i["patient_code"], i["course_number"])].append(i)
    for infusions in by_course.values():
        induction = sorted((i for i in infusions if i["number"] <= 6), key=lambda i: i["number"])
        gaps = [(b["administered_on"] - a["administered_on"]).days
                for a, b in itertools.pairwise(induction)]
        assert all(2 <= g <= 7 for g in gaps)


def _phq9(cohort, timepoint, number):
    return {(a["patient_code"], a["course_number"]): a["total"] for a in cohort.records.assessments
            if a["instrument"] == "PHQ-9" and a["timepoint"] == timepoint
            and a["infusion_number"] == number}


def test_scores_follow_a_plausible_course(cohort):
    baseline, after6 = _phq9(cohort, "pre", 1), _phq9(cohort, "post", 6)
    totals = [t for t in baseline.values() if t is not None]
    assert sum(12 <= t <= 25 for t in totals) / len(totals) >= 0.8
    pairs = [(baseline[k], after6[k]) for k in after6 if baseline.get(k) and after6[k] is not None]
    response = sum(2 * post <= pre for pre, post in pairs) / len(pairs)
    remission = sum(post <= 4 for _, post in pairs) / len(pairs)
    assert 0.35 <= response <= 0.65 and 0.2 <= remission <= 0.45  # ~1/2 and ~1/3
    pre, post = _phq9(cohort, "pre", 3), _phq9(cohort, "post", 3)
    lower = [post[k] < pre[k] for k in post if pre.get(k) is not None and post[k] is not None]
    assert sum(lower) / len(lower) >= 0.7


def test_totals_item9_and_missing_items(cohort):
    phq9 = [a for a in cohort.records.assessments if a["instrument"] == "PHQ-9"]
    for a in phq9:
        if None not in a["items"]:
            assert a["total"] == sum(a["items"]) and a["item9"] == a["items"][8]
    missing = Counter(a["items"].count(None) for a in phq9)
    assert missing[1] + missing[2] + missing[3] > 0
    incomplete = [a for a in phq9 if a["items"].count(None) >= 3]
    assert all(a["total"] is None and a["complete"] is False for a in incomplete)
    madrs = [a for a in cohort.records.assessments if a["instrument"] == "MADRS"]
    assert {(a["timepoint"], a["infusion_number"]) for a in madrs} == {("pre", 1), ("post", 6)}
    madrs_patients = {a["patient_code"] for a in madrs}
    assert 0.15 <= len(madrs_patients) / 120 <= 0.45  # ~30%
    positives = [a for a in phq9 if a["item9"] >= 1]
    assert len(cohort.records.alerts) == len(positives) > 0
    assert any(a["status"] == "open" for a in cohort.records.alerts)
    assert all((TODAY - a["observed_on"]).days <= 14 for a in cohort.records.alerts
               if a["status"] == "open")


def _count(session, table) -> int:
    return session.execute(select(func.count()).select_from(table)).scalar_one()


def test_seed_writes_the_cohort_and_it_loads(engine, cohort):
    counts = seed_demo(n_patients=120, seed=42, today=TODAY, engine=engine, password="pw-123")
    r = cohort.records
    assert counts["patients"] == 120 and counts["assessments"] == len(r.assessments)
    assert counts["infusions"] == len(r.infusions) and counts["courses"] == len(r.courses)
    with Session(engine) as s:
        assert _count(s, Patient) == 120 and _count(s, Assessment) == len(r.assessments)
        assert _count(s, SafetyAlert) == len(r.alerts)
        users = s.exec(select(User)).scalars().all()
        assert len({u.password_hash for u in users}) == 1
        assert PasswordHasher().verify(users[0].password_hash, "pw-123")
        assert _count(s, UserClinic) == sum(u["role"] == "clinician" for u in r.users)
        assert s.execute(select(func.count()).where(Infusion.clinician_id.is_(None))).scalar_one() == 0
        assert len({p.study_id for p in s.exec(select(Patient)).scalars()}) == 120
        seeded = s.exec(select(AuditEvent).where(AuditEvent.action == "seed_demo")).scalar_one()
        assert "DEMO-0" not in seeded.new_value


def test_seed_refuses_a_store_with_patients(engine):
    seed_demo(n_patients=5, seed=1, today=TODAY, engine=engine)
    with Session(engine) as s:
        before = {t.name: _count(s, t) for t in SQLModel.metadata.sorted_tables}
    with pytest.raises(ValueError, match="already holds 5 patient"):
        seed_demo(n_patients=5, seed=2, today=TODAY, engine=engine)
    with Session(engine) as s:
        assert {t.name: _count(s, t) for t in SQLModel.metadata.sorted_tables} == before


def test_generated_scores_round_trip_through_the_import(engine):
    """Exported without course labels, the cohort re-imports into the same courses."""
    small = generate_demo(30, seed=7, today=TODAY)
    infusions = {(i["patient_code"], i["course_number"], i["number"]): i
                 for i in small.records.infusions}
    clinic_of = {p["patient_code"]: p["clinic"] for p in small.records.patients}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["patient_id", "clinic", "infusion_number", "timepoint", "date", "instrument",
                     *(f"item_{n}" for n in range(1, 11)), "route"])
    for a in small.records.assessments:
        inf = infusions[(a["patient_code"], a["course_number"], a["infusion_number"])]
        items = ["" if v is None else v for v in a["items"]]
        writer.writerow([a["patient_code"], clinic_of[a["patient_code"]], a["infusion_number"],
                         a["timepoint"], a["administered_on"].isoformat(), a["instrument"],
                         *items, *[""] * (10 - len(items)), inf["route"]])
    report = import_scores(out.getvalue().encode(), actor=SYSTEM, today=TODAY, engine=engine)
    assert report.ok, report.format()[:2000]
    assert report.counts["courses"] == len(small.records.courses)
    assert report.counts["infusions"] == len(small.records.infusions)
    assert report.counts["assessments"] == len(small.records.assessments)
    open_alerts = sum(a["status"] == "open" for a in small.records.alerts)
    assert report.counts["alerts_open"] == open_alerts


@pytest.mark.parametrize(("profile", "doses"), [
    ((0.6, 0.05), [0.5, 0.55, 0.6, 0.6, 0.6, 0.6, 0.6]),
    ((0.8, 0.1), [0.5, 0.6, 0.7, 0.8, 0.8, 0.8, 0.8]),
    ((1.0, 0.25), [0.5, 0.75, 1.0, 1.0, 1.0, 1.0, 1.0]),
    ((1.2, 0.2), [0.5, 0.7, 0.9, 1.1, 1.2, 1.2, 1.2]),
])
def test_titration_starts_at_half_a_mg_per_kg_and_steps_up_to_the_target(profile, doses):
    from data.seed.seed_people import titrated_dose

    assert [titrated_dose(n, *profile) for n in range(1, 8)] == doses


def test_demo_courses_titrate_and_fall_in_several_median_bands(cohort):
    from statistics import median

    by_course = defaultdict(list)
    for i in cohort.records.infusions:
        by_course[(i["patient_code"], i["course_number"])].append(
            (i["number"], i["dose_mg_per_kg"]))
    medians = []
    for infusions in by_course.values():
        doses = [d for _, d in sorted(infusions)]
        assert doses[0] == 0.5  # every course starts at 0.5 mg/kg
        assert doses == sorted(doses)  # stepped up, never down
        medians.append(median(doses))
    bands = Counter("0.5-0.74" if m < 0.75 else "0.75-0.99" if m < 1.0 else ">= 1.0"
                    for m in medians)
    assert min(bands.values()) >= 10, bands  # three bands, each with courses to compare
    assert any(d == 1.2 for i in by_course.values() for _, d in i)  # some patients go higher
