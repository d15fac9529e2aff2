"""Patients page: search within scope, register (with its error paths), open a record."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import select

from data.store.db import read_session
from models.tables import Patient
from tests.clinical_factories import make_patient
from tests.factories import make_user
from tests.pages.conftest import count, go, joined, sign_in, values

XSS_NAME = "<script>alert(1)</script> [x](javascript:alert(1))"


@pytest.fixture
def clin(store_url):
    return make_user("clin", "clinician", ("CL1",))


def fill(at, code: str, name: str = "", birth: date | None = date(1980, 5, 17)):
    at.text_input(key="new_patient_code").input(code)
    at.text_input(key="new_patient_name").input(name)
    at.date_input(key="new_patient_birth_date").set_value(birth)
    return at


def test_register_a_patient_then_the_record_opens(app, clin):
    go(sign_in(app, "clin"), "pages/patients.py")
    fill(app, "P-100", XSS_NAME)
    app.selectbox(key="new_patient_sex").set_value("female")
    app.selectbox(key="new_patient_indication").set_value("TRD")
    app.number_input(key="new_patient_failed_trials").set_value(4)
    app.text_area(key="new_patient_notes").input("**not bold**\nsecond line")
    app.button(key="register_patient").click().run()
    assert not app.exception
    assert app.title[0].value == "Patient record"
    assert "registered" in joined(app.success)
    with read_session() as session:
        p = session.exec(select(Patient)).one()
    assert (p.patient_code, p.name, p.sex, p.indication, p.failed_trials, p.notes) == \
        ("P-100", XSS_NAME, "female", "TRD", 4, "**not bold**\nsecond line")
    assert f"Name: {XSS_NAME}" in values(app.text)  # plain text, exactly as typed
    assert "Notes:\n**not bold**\nsecond line" in values(app.text)
    assert "<script>" not in joined(app.markdown) and "javascript:" not in joined(app.markdown)


def test_under_18_is_warned_live_and_future_birth_dates_refused(app, clin):
    go(sign_in(app, "clin"), "pages/patients.py")
    teen = date.today().replace(year=date.today().year - 16) - timedelta(days=1)
    fill(app, "P-1", birth=teen).run()
    assert "Date of birth: the patient is 16 years old (under 18)" in joined(app.warning)
    assert "birth_date" not in joined(app.warning)  # clinic words, not the field's code
    fill(app, "P-1", birth=date.today() + timedelta(days=1))
    app.button(key="register_patient").click().run()
    assert "birth_date" in joined(app.error) and "in the future" in joined(app.error)
    assert count(Patient) == 0


def test_a_duplicate_code_is_already_registered(app, clin):
    make_patient(clin, code="P-1")
    go(sign_in(app, "clin"), "pages/patients.py")
    fill(app, "P-1")
    app.button(key="register_patient").click().run()
    assert "Already registered" in joined(app.warning)
    assert "already registered in clinic CL1" in joined(app.warning)
    assert count(Patient) == 1


def test_bad_fields_are_named(app, clin):
    go(sign_in(app, "clin"), "pages/patients.py")
    fill(app, "   ")
    app.number_input(key="new_patient_failed_trials").set_value(31)
    app.text_input(key="new_patient_name").input("x" * 201)
    app.button(key="register_patient").click().run()
    message = joined(app.error)
    for field in ("patient_code", "name", "failed_trials"):
        assert field in message
    assert "0-30" in message and "at most 200" in message
    assert count(Patient) == 0


def test_search_stays_in_scope_and_opens_a_record(app, clin):
    make_patient(clin, code="P-1", name="Ann Smith")
    make_patient(clin, code="P-2", name="Bob Jones")
    other = make_user("clin2", "clinician", ("CL2",))
    make_patient(other, code="P-3", name="Ann Other", clinic="CL2")
    go(sign_in(app, "clin"), "pages/patients.py")
    assert list(app.dataframe[0].value["Patient code"]) == ["P-2", "P-1"]
    app.text_input(key="patient_search").input("ann").run()
    assert list(app.dataframe[0].value["Patient code"]) == ["P-1"]  # not CL2's Ann
    app.button(key="open_record").click().run()
    assert app.title[0].value == "Patient record"
    assert "Patient code: P-1" in values(app.text)


@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_auditors_and_admins_never_see_the_clinical_pages(app, role):
    make_user("someone", role, ("CL1",))
    sign_in(app, "someone")
    for page in ("pages/patients.py", "pages/patient.py", "pages/infusion.py",
                 "pages/safety.py", "pages/settings.py"):
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            app.switch_page(page)  # not in this role's navigation
