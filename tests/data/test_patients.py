"""Patient services: register, scope, uniqueness, edits with a reason, audited views."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlmodel import func, select

from data.analytics.overview import search_patients
from data.clinic.patients import get_patient, record_view, register_patient, update_patient
from data.store.db import read_session, write_session
from models.access import PermissionDenied
from models.schemas import AlreadySaved, InputError
from models.tables import AuditEvent, Patient
from tests.clinical_factories import TODAY, clinic_id, make_patient
from tests.factories import make_user


@pytest.fixture
def clin(store_url):
    make_user("other.clin", "clinician", ("CL2",))
    return make_user("clin", "clinician", ("CL1",))


def n_patients() -> int:
    with read_session() as session:
        return session.exec(select(func.count()).select_from(Patient)).one()


def events(action: str) -> list[AuditEvent]:
    with read_session() as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)
                                 .order_by(AuditEvent.id)).all())


def test_register_stores_text_exactly_and_audits_without_identifiers(clin):
    name = "<script>alert(1)</script> [x](javascript:alert(1)) Zoë"
    pid = make_patient(clin, code=" P-001 ", name=name, sex="female", indication="TRD",
                       failed_trials=3, notes="first line\nsecond line")
    with read_session() as session:
        p = session.get(Patient, pid)
    assert (p.patient_code, p.name, p.notes) == ("P-001", name, "first line\nsecond line")
    assert (p.sex, p.indication, p.failed_trials) == ("female", "TRD", 3)
    assert p.study_id.startswith("S-") and len(p.study_id) == 12
    [created] = [e for e in events("create") if e.entity == "patient"]
    assert created.patient_id == pid
    content = json.loads(created.new_value)
    assert content == {"clinic": "CL1", "study_id": p.study_id, "sex": "female",
                       "indication": "TRD", "failed_trials": 3}
    assert "P-001" not in created.new_value and "Zoë" not in created.new_value


def test_patient_code_is_unique_per_clinic(clin):
    make_patient(clin, code="P-001")
    with pytest.raises(AlreadySaved) as caught:
        make_patient(clin, code="P-001")
    assert caught.value.problems[0][0] == "patient_code"
    assert "already registered in clinic CL1" in str(caught.value)
    director = make_user("boss", "director", ("CL1", "CL2"))
    make_patient(director, code="P-001", clinic="CL2")  # same code, other clinic: fine
    assert n_patients() == 2


def test_a_clinic_outside_the_scope_is_refused_and_audited(clin):
    with pytest.raises(PermissionDenied):
        make_patient(clin, code="P-9", clinic="CL2")
    assert n_patients() == 0
    [denied] = events("denied")
    assert (denied.username, denied.entity) == ("clin", "patient")


@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_auditors_and_admins_cannot_register_or_read_patients(clin, role):
    pid = make_patient(clin)
    someone = make_user("someone", role, ("CL1",))
    with pytest.raises(PermissionDenied):
        make_patient(someone, code="P-2")
    with pytest.raises(PermissionDenied), read_session() as session:
        get_patient(session, actor=someone, patient_id=pid)
    with pytest.raises(PermissionDenied), read_session() as session:
        search_patients(session, actor=someone)


def test_bad_input_writes_nothing(clin):
    with pytest.raises(InputError) as caught, write_session() as session:
        register_patient(session, actor=clin, today=TODAY, patient={
            "clinic_id": clinic_id("CL1"), "patient_code": "P-1",
            "birth_date": date(2025, 3, 11), "failed_trials": 31})
    assert caught.value.fields == ["birth_date", "failed_trials"]
    assert n_patients() == 0


def test_update_needs_a_reason_and_keeps_old_values_in_the_trail(clin):
    pid = make_patient(clin, name="Jane Doe", indication="MDD")
    with pytest.raises(InputError) as caught, write_session() as session:
        update_patient(session, actor=clin, patient_id=pid, changes={"name": "Jane Roe"},
                       reason=" ", today=TODAY)
    assert caught.value.fields == ["reason"]
    with write_session() as session:
        changed = update_patient(session, actor=clin, patient_id=pid, reason="married name",
                                 changes={"name": "Jane Roe", "indication": "TRD",
                                          "sex": None}, today=TODAY)
    assert changed == ["name", "indication"]  # sex was already unrecorded
    corrections = events("correct")
    assert [(e.field, e.old_value, e.new_value, e.reason) for e in corrections] == [
        ("name", "Jane Doe", "Jane Roe", "married name"),
        ("indication", "MDD", "TRD", "married name"),
    ]
    assert all(e.patient_id == pid and e.entity == "patient" for e in corrections)


def test_update_refuses_a_taken_code_and_the_clinic(clin):
    make_patient(clin, code="P-1")
    pid = make_patient(clin, code="P-2")
    with pytest.raises(AlreadySaved), write_session() as session:
        update_patient(session, actor=clin, patient_id=pid, changes={"patient_code": "P-1"},
                       reason="typo")
    with pytest.raises(InputError) as caught, write_session() as session:
        update_patient(session, actor=clin, patient_id=pid, changes={"clinic_id": 2},
                       reason="moved")
    assert caught.value.fields == ["clinic_id"]


def test_opening_a_record_is_audited_as_a_view(clin):
    pid = make_patient(clin)
    with write_session() as session:
        record_view(session, actor=clin, patient_id=pid)
    [view] = events("view")
    assert (view.entity, view.entity_id, view.patient_id, view.username) == \
        ("patient", str(pid), pid, "clin")


def test_other_clinics_patients_are_invisible(clin):
    other = make_user("clin2", "clinician", ("CL2",))
    pid = make_patient(other, code="X-1", clinic="CL2")
    with pytest.raises(PermissionDenied), write_session() as session:
        record_view(session, actor=clin, patient_id=pid)
    with read_session() as session:
        assert search_patients(session, actor=clin, query="X-1") == []
    assert events("view") == []


def test_search_by_code_or_name_with_literal_wildcards(clin):
    make_patient(clin, code="A_1", name="Ann Smith")
    make_patient(clin, code="AB1", name="Bob 100%")
    with read_session() as session:
        def codes(query: str) -> list[str]:
            return sorted(r["patient_code"] for r in search_patients(session, actor=clin,
                                                                     query=query))
        assert codes("a_1") == ["A_1"]  # '_' is not a wildcard
        assert codes("smith") == ["A_1"]
        assert codes("100%") == ["AB1"]
        assert codes("") == ["AB1", "A_1"]
