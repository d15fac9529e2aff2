"""People and infusion details of the synthetic demo cohort: clinics, staff accounts,
patients (invented names, labelled synthetic) and per-infusion route, dose, vitals and
side effects (vectorised with numpy: a 40,000-patient cohort has ~300,000 infusions).
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

import numpy as np

CLINICS = (("DEMO-N", "Demo North (synthetic)"), ("DEMO-S", "Demo South (synthetic)"))
NOTE = "Synthetic demo record"
INDICATIONS = (("TRD", 0.60), ("bipolar depression", 0.15), ("PTSD", 0.15), ("anxiety", 0.10))
ROUTES = (("IV", 0.85), ("IM", 0.10), ("intranasal", 0.05))
SIDE_EFFECTS = (
    ("nausea", 0.15), ("vomiting", 0.04), ("dizziness", 0.20), ("headache", 0.10),
    ("dissociation", 0.45), ("hallucinations", 0.05), ("raised blood pressure", 0.12),
    ("sedation", 0.20), ("anxiety", 0.08),
)  # fmt: skip
# Titration profiles (target mg/kg, step per infusion): every course starts at 0.5 mg/kg
# and steps up over the induction to the patient's target, then stays there (boosters
# too). Most reach 0.75-1.0; one in seven stays low (0.6, tolerability), one in seven
# goes higher (1.2). Seven entries, one rnd.choice: the random stream is the same as
# with the former fixed doses, so only the doses differ from earlier versions.
TITRATION = ((0.6, 0.05), (0.75, 0.1), (0.8, 0.1), (0.9, 0.1), (1.0, 0.1), (1.0, 0.25),
             (1.2, 0.2))
START_DOSE = 0.5
FIRST_NAMES = (
    "Avery", "Blake", "Carmen", "Dalia", "Elias", "Fern", "Gideon", "Hana", "Ivo", "Juno",
    "Kasia", "Lionel", "Mirela", "Nico", "Orla", "Pavel", "Quinn", "Rosalind", "Silas",
    "Tamsin", "Ugo", "Vera", "Wendell", "Xenia", "Yusuf", "Zora", "Anselm", "Brigid",
    "Cosmo", "Delphine", "Emeric", "Flora", "Gunnar", "Hester", "Ines", "Jasper",
)  # fmt: skip
LAST_NAMES = (
    "Ashdown", "Brackley", "Corvell", "Dunmore", "Elswick", "Farrowby", "Glenhart",
    "Hollins", "Ingleby", "Jessop", "Kilbride", "Larkworth", "Marchetti", "Norrland",
    "Okonjo", "Pellham", "Quarles", "Redfern", "Stanwick", "Thornbury", "Underhill",
    "Vasquez-Lee", "Whitcombe", "Yardley", "Zelenko", "Abernathy", "Bellweather",
)  # fmt: skip


def _weighted(rnd: random.Random, table: tuple[tuple[str, float], ...]) -> str:
    return rnd.choices([v for v, _ in table], weights=[w for _, w in table])[0]


def staff(n_patients: int) -> list[dict]:
    """Several clinicians per clinic (more for big cohorts), a director and an auditor."""
    per_clinic = max(3, min(10, n_patients // 1000))
    users, number = [], 0
    for code, _name in CLINICS:
        for _ in range(per_clinic):
            number += 1
            first, last = FIRST_NAMES[(number * 7) % len(FIRST_NAMES)], LAST_NAMES[number % len(LAST_NAMES)]
            users.append({"username": f"demo.clin{number}", "full_name": f"Dr {first} {last} (synthetic)",
                          "role": "clinician", "clinics": [code]})
    users.append({"username": "demo.director", "full_name": "Demo Director (synthetic)",
                  "role": "director", "all_clinics": True})
    users.append({"username": "demo.auditor", "full_name": "Demo Auditor (synthetic)",
                  "role": "auditor", "all_clinics": True})
    return users


def patient(rnd: random.Random, number: int, today: date) -> dict:
    """One invented patient (clinic DEMO-N ~55%, DEMO-S ~45%)."""
    indication = _weighted(rnd, INDICATIONS)
    age_days = int(rnd.uniform(19, 76) * 365.25)
    return {
        "clinic": CLINICS[0][0] if rnd.random() < 0.55 else CLINICS[1][0],
        "patient_code": f"DEMO-{number:05d}",
        "name": f"{rnd.choice(FIRST_NAMES)} {rnd.choice(LAST_NAMES)}",
        "birth_date": today - timedelta(days=age_days),
        "sex": rnd.choices(("female", "male", "other"), weights=(58, 40, 2))[0],
        "indication": indication,
        "failed_trials": rnd.randint(2, 6) if indication == "TRD" else rnd.randint(0, 4),
        "notes": NOTE,
    }


def titrated_dose(number: int, target: float, step: float) -> float:
    """Infusion `number` of a course: 0.5 mg/kg, then `step` more each infusion up to
    `target` (mg/kg, to 0.01)."""
    return round(min(target, START_DOSE + step * (number - 1)), 2)


def care(rnd: random.Random, clinicians: list[str]) -> dict:
    """What stays the same across a patient's infusions: route, titration (target and step),
    weight, clinician."""
    return {"route": _weighted(rnd, ROUTES), "titration": rnd.choice(TITRATION),
            "weight": round(rnd.uniform(50, 115), 1), "clinician": rnd.choice(clinicians)}


def _clip(values: np.ndarray, low: int, high: int) -> list[int]:
    return np.clip(np.rint(values), low, high).astype(int).tolist()


def vitals(rng: np.random.Generator, n: int) -> dict[str, list[int]]:
    """Plausible blood pressure, heart rate and SpO2 before, at peak and at discharge."""
    sys_b, dia_b = rng.normal(126, 13, n), rng.normal(79, 9, n)
    hr_b, spo2_b = rng.normal(74, 10, n), rng.integers(95, 101, n)
    return {
        "bp_sys_before": _clip(sys_b, 95, 175), "bp_dia_before": _clip(dia_b, 55, 105),
        "hr_before": _clip(hr_b, 50, 115), "spo2_before": _clip(spo2_b, 94, 100),
        "bp_sys_peak": _clip(sys_b + rng.uniform(8, 30, n), 105, 195),
        "bp_dia_peak": _clip(dia_b + rng.uniform(4, 16, n), 60, 115),
        "hr_peak": _clip(hr_b + rng.uniform(3, 20, n), 55, 130),
        "spo2_peak": _clip(spo2_b - rng.integers(0, 4, n), 90, 100),
        "bp_sys_discharge": _clip(sys_b + rng.uniform(-5, 9, n), 95, 180),
        "bp_dia_discharge": _clip(dia_b + rng.uniform(-3, 6, n), 55, 108),
        "hr_discharge": _clip(hr_b + rng.uniform(-5, 7, n), 50, 115),
        "spo2_discharge": _clip(spo2_b + rng.integers(-1, 2, n), 94, 100),
    }


def side_effects(rng: np.random.Generator, n: int) -> list[list[str]]:
    """Side-effect lists drawn independently, each with its own frequency."""
    names = [name for name, _ in SIDE_EFFECTS]
    present = rng.random((n, len(SIDE_EFFECTS))) < np.array([p for _, p in SIDE_EFFECTS])
    return [[names[k] for k in np.flatnonzero(row)] for row in present]


def infusion_details(rng: np.random.Generator, infusions: list[dict], cares: list[dict],
                     clinicians_of: dict[str, list[str]]) -> None:
    """Fill route, dose, weight, timing, vitals, side effects and clinician in place."""
    n = len(infusions)
    start_minutes = rng.integers(8 * 4, 16 * 4, n) * 15
    duration = rng.integers(40, 61, n).tolist()
    weight_drift = rng.normal(0, 0.6, n).round(1).tolist()
    other_clinician = rng.random(n) < 0.15
    pick = rng.integers(0, 1000, n).tolist()
    table = vitals(rng, n)
    effects = side_effects(rng, n)
    for i, (inf, how) in enumerate(zip(infusions, cares, strict=True)):
        dose = titrated_dose(inf["number"], *how["titration"])
        weight = round(how["weight"] + weight_drift[i], 1)
        colleagues = clinicians_of[inf["clinic"]]
        inf.update({k: v[i] for k, v in table.items()})
        inf.update({
            "route": how["route"], "dose_mg_per_kg": dose, "weight_kg": weight,
            "total_dose_mg": round(dose * weight, 1), "duration_min": duration[i],
            "started_at": datetime.combine(inf["administered_on"], time(), UTC)
            + timedelta(minutes=int(start_minutes[i])),
            "side_effects": effects[i],
            "clinician_code": colleagues[pick[i] % len(colleagues)] if other_clinician[i]
            else how["clinician"],
        })
