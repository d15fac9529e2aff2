"""Test data for the clinician workflow, written through the services (issue 3).

`TODAY` is a fixed date so that ages, future dates and alert windows are hand-computable.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import select

from data.clinic.infusions import Saved, log_infusion, start_course
from data.clinic.patients import register_patient
from data.store.db import read_session, write_session
from models.access import Actor
from models.tables import Clinic

TODAY = date(2025, 3, 10)
PHQ9_PRE = [2, 2, 2, 2, 2, 2, 2, 2, 1]  # 8 x 2 + 1 = 17, moderately severe, item 9 positive
PHQ9_POST = [1, 1, 1, 1, 1, 1, 1, 1, 0]  # 8, mild, item 9 negative
GAD7_PRE = [3, 3, 2, 2, 1, 1, 0]  # 12, moderate


def clinic_id(code: str) -> int:
    with read_session() as session:
        return session.exec(select(Clinic.id).where(Clinic.code == code)).one()


def make_patient(actor: Actor, code: str = "P-001", clinic: str = "CL1", **fields: Any) -> int:
    values = {"clinic_id": clinic_id(clinic), "patient_code": code,
              "birth_date": date(1980, 5, 17), **fields}
    with write_session() as session:
        return register_patient(session, actor=actor, patient=values, today=TODAY).id


def make_course(actor: Actor, patient_id: int, course_type: str = "induction") -> int:
    with write_session() as session:
        return start_course(session, actor=actor, patient_id=patient_id,
                            course_type=course_type, start_date=TODAY, today=TODAY).id


def infusion_input(number: int = 1, **overrides: Any) -> dict[str, Any]:
    return {"number": number, "administered_on": TODAY, "infusion_type": "induction",
            "route": "IV", "dose_mg_per_kg": 0.5, "weight_kg": 70.0, **overrides}


def score(instrument: str, timepoint: str, items: list, **extra: Any) -> dict[str, Any]:
    return {"instrument": instrument, "timepoint": timepoint, "items": items, **extra}


def log(actor: Actor, course_id: int, number: int = 1, scores: list | tuple = (),
        **overrides: Any) -> Saved:
    with write_session() as session:
        return log_infusion(session, actor=actor, course_id=course_id,
                            infusion=infusion_input(number, **overrides), scores=list(scores),
                            today=TODAY)
