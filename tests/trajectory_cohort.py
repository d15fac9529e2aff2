"""A hand-built patient for the patient-view tests, imported through the score import
(OUTCOMES.md s.5), with every expected figure worked out by hand below.

HV-01 (clinic NORTH, TRD), course C1, PHQ-9 (pre / post per infusion):
  infusion 1  2024-01-02 induction IV 0.5 mg/kg   pre 20 (items, item 9 = 1)  post 12
  infusion 2  2024-01-18 induction IV 0.5 mg/kg   pre 16            (16 days after 1: gap)
  infusion 3  2024-01-22 induction IV 0.75 mg/kg  pre 11  post 9    (2 x 9 = 18 <= 20: first
                                                                       response, 3 received)
  infusion 4  2024-03-15 booster   IM 0.5 mg/kg   pre 12  post 8    (53 days > 42: gap)
  baseline 20 (pre 1); latest 8 (post 4): change -12, -60.0 %; response (16 <= 20);
  no remission (8 > 4); reliable improvement (12 >= 6).
  GAD-7: pre 1 = 15, post 1 = 10, pre 3 = 9, post 3 = 7: baseline 15, latest 7, -8
  (-53.3 %), response (14 <= 15), no remission (7 > 4), reliable improvement (8 >= 4).
course C2: infusion 1 2024-06-01 PHQ-9 pre 18, post 10 (20 > 18: no response).
HV-02 (clinic SOUTH): one PHQ-9 pair, for scope checks.
"""

from __future__ import annotations

from datetime import date

from data.imports.importer import import_scores
from models.access import SYSTEM

HEADER = ("patient_id,clinic,clinician,indication,course_id,infusion_number,infusion_type,"
          "timepoint,date,instrument,item_1,item_2,item_3,item_4,item_5,item_6,item_7,item_8,"
          "item_9,total,dose_mg_per_kg,route")
NO_ITEMS = "," * 8  # item_1 ... item_9 empty


def _row(patient, clinic, course, number, kind, timepoint, day, instrument, total,
         dose, route, items=None) -> str:
    answers = ",".join(str(i) for i in items) if items else NO_ITEMS
    total_cell = "" if items else str(total)
    return (f"{patient},{clinic},dr.north,TRD,{course},{number},{kind},{timepoint},{day},"
            f"{instrument},{answers},{total_cell},{dose},{route}")


ROWS = [
    ("HV-01", "NORTH", "C1", 1, "induction", "pre", "2024-01-02", "PHQ-9", 20, 0.5, "IV",
     (3, 3, 3, 2, 2, 2, 2, 2, 1)),
    ("HV-01", "NORTH", "C1", 1, "induction", "post", "2024-01-02", "PHQ-9", 12, 0.5, "IV"),
    ("HV-01", "NORTH", "C1", 1, "induction", "pre", "2024-01-02", "GAD-7", 15, 0.5, "IV"),
    ("HV-01", "NORTH", "C1", 1, "induction", "post", "2024-01-02", "GAD-7", 10, 0.5, "IV"),
    ("HV-01", "NORTH", "C1", 2, "induction", "pre", "2024-01-18", "PHQ-9", 16, 0.5, "IV"),
    ("HV-01", "NORTH", "C1", 3, "induction", "pre", "2024-01-22", "PHQ-9", 11, 0.75, "IV"),
    ("HV-01", "NORTH", "C1", 3, "induction", "post", "2024-01-22", "PHQ-9", 9, 0.75, "IV"),
    ("HV-01", "NORTH", "C1", 3, "induction", "pre", "2024-01-22", "GAD-7", 9, 0.75, "IV"),
    ("HV-01", "NORTH", "C1", 3, "induction", "post", "2024-01-22", "GAD-7", 7, 0.75, "IV"),
    ("HV-01", "NORTH", "C1", 4, "booster", "pre", "2024-03-15", "PHQ-9", 12, 0.5, "IM"),
    ("HV-01", "NORTH", "C1", 4, "booster", "post", "2024-03-15", "PHQ-9", 8, 0.5, "IM"),
    ("HV-01", "NORTH", "C2", 1, "induction", "pre", "2024-06-01", "PHQ-9", 18, 0.5, "IV"),
    ("HV-01", "NORTH", "C2", 1, "induction", "post", "2024-06-01", "PHQ-9", 10, 0.5, "IV"),
    ("HV-02", "SOUTH", "C1", 1, "induction", "pre", "2024-02-01", "PHQ-9", 14, 0.5, "IV"),
    ("HV-02", "SOUTH", "C1", 1, "induction", "post", "2024-02-01", "PHQ-9", 6, 0.5, "IV"),
]


def import_cohort() -> None:
    """Write the cohort (clinics NORTH and SOUTH are created by the import)."""
    text = "\n".join([HEADER, *(_row(*r) for r in ROWS)]) + "\n"
    report = import_scores(text.encode("utf-8"), actor=SYSTEM, today=date(2024, 7, 1))
    assert report.ok, report.format()


def patient_id(code: str) -> int:
    from sqlmodel import select

    from data.store.db import read_session
    from models.tables import Patient

    with read_session() as session:
        return session.exec(select(Patient.id).where(Patient.patient_code == code)).one()
