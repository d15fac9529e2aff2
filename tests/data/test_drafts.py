"""Issue 12: drafts of an unsaved infusion (data/clinic/drafts.py): one per user, patient and
kind; only their author reads them, within the clinic scope; the first save and a
discard are audited; a draft is deleted on save (no event of its own) and after 7 days;
bad drafts are refused naming the field, writing nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import func, select

from data.clinic.drafts import (
    PAYLOAD_MAX_BYTES,
    DraftError,
    discard_draft,
    load_draft,
    my_drafts,
    save_draft,
)
from data.store import audit
from data.store.db import read_session, write_session
from models.access import PermissionDenied
from models.tables import AuditEvent, Draft
from tests.clinical_factories import make_patient
from tests.factories import make_user

VALUES = {"infusion_weight_kg": 70.0, "vital_hr_before": 72, "se_nausea": True,
          "infusion_adverse_event": "brief nausea", "pre_instruments": ["PHQ-9"],
          "infusion_date": {"$date": "2026-12-01"}}


@pytest.fixture
def people(store_url):
    clin = make_user("dr.a", "clinician", ("CL1",))
    other = make_user("dr.b", "clinician", ("CL1",))
    far = make_user("dr.far", "clinician", ("CL2",))
    auditor = make_user("aud", "auditor")
    return {"clin": clin, "other": other, "far": far, "auditor": auditor,
            "patient": make_patient(clin, "P-1")}


def _save(actor, patient_id, payload=VALUES, kind="infusion", now=None):
    with write_session() as session:
        return save_draft(session, actor=actor, patient_id=patient_id, kind=kind,
                          payload=payload, now=now)


def _load(actor, patient_id, now=None):
    with read_session() as session:
        return load_draft(session, actor=actor, patient_id=patient_id, kind="infusion",
                          now=now)


def _n(model, **where) -> int:
    with read_session() as session:
        stmt = select(func.count()).select_from(model)
        for name, value in where.items():
            stmt = stmt.where(getattr(model, name) == value)
        return session.exec(stmt).one()


def test_one_draft_per_user_patient_kind_audited_once(people):
    clin, pid = people["clin"], people["patient"]
    _save(clin, pid)
    _save(clin, pid, {**VALUES, "vital_hr_before": 80})
    assert _n(Draft) == 1
    assert _load(clin, pid).payload["vital_hr_before"] == 80
    events = _n(AuditEvent, action="draft_save")
    assert events == 1  # later saves of the same draft are not audited
    with read_session() as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "draft_save")).one()
    assert (event.patient_id, event.field, event.username) == (pid, "infusion", "dr.a")
    assert event.new_value is None  # the trail holds no PHI of the draft


def test_only_the_author_reads_it_and_the_scope_holds(people):
    clin, pid = people["clin"], people["patient"]
    _save(clin, pid)
    assert _load(people["other"], pid) is None  # same clinic, another user: not theirs
    with pytest.raises(PermissionDenied):
        _load(people["far"], pid)
    with pytest.raises(PermissionDenied):
        _save(people["auditor"], pid)
    assert [p.patient_code for _, p in _my(clin)] == ["P-1"]
    assert _my(people["other"]) == [] and _my(people["auditor"]) == []


def _my(actor):
    with read_session() as session:
        return my_drafts(session, actor=actor)


def test_discard_on_request_is_audited_on_save_not(people):
    clin, pid = people["clin"], people["patient"]
    _save(clin, pid)
    with write_session() as session:
        assert discard_draft(session, actor=clin, patient_id=pid, kind="infusion")
    assert _n(Draft) == 0 and _n(AuditEvent, action="draft_discard") == 1
    _save(clin, pid)
    with write_session() as session:
        assert discard_draft(session, actor=clin, patient_id=pid, kind="infusion", saved=True)
        assert not discard_draft(session, actor=clin, patient_id=pid, kind="infusion")
    assert _n(Draft) == 0 and _n(AuditEvent, action="draft_discard") == 1


def test_a_draft_expires_after_7_days(people):
    clin, pid = people["clin"], people["patient"]
    kept = audit.utcnow()
    _save(clin, pid, now=kept)
    assert _load(clin, pid, now=kept + timedelta(days=6, hours=23)) is not None
    assert _load(clin, pid, now=kept + timedelta(days=7, seconds=1)) is None
    _save(people["other"], pid, now=kept + timedelta(days=7, seconds=1))  # purges expired
    with read_session() as session:
        owners = session.exec(select(Draft.user_id)).all()
    assert owners == [people["other"].user_id]


@pytest.mark.parametrize(("kind", "payload", "field"), [
    ("letter", VALUES, "kind"),
    ("infusion", {"infusion_adverse_event": "a\x00b"}, "infusion_adverse_event"),
    ("infusion", {"": 1}, "payload"),
    ("infusion", {"x" * 121: 1}, "payload"),
    ("infusion", {"infusion_adverse_event": "x" * PAYLOAD_MAX_BYTES}, "payload"),
    ("infusion", {"when": object()}, "payload"),
])
def test_bad_drafts_are_refused_naming_the_field(people, kind, payload, field):
    before = _n(AuditEvent)
    with pytest.raises(DraftError) as caught:
        _save(people["clin"], people["patient"], payload, kind=kind)
    assert field in caught.value.fields
    assert _n(Draft) == 0 and _n(AuditEvent) == before
