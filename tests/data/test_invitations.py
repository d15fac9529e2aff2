"""Invitation links: creation rules, the neutral refusal of every bad token, one use only,
expiry (also while the form is open), revocation, and nothing written on any refusal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import func, select

from data.selfreport.clinic_settings import DEFAULT_CRISIS_TEXT
from data.selfreport.invitations import (
    EXPIRED_MID_FORM_TEXT,
    INVALID_LINK_TEXT,
    InvalidLink,
    LinkExpired,
    create_invitation,
    invitation_url,
    list_invitations,
    open_link,
    revoke_invitation,
    submit_link,
)
from data.selfreport.throttle import Throttle
from data.selfreport.tokens import new_token, token_hash, well_formed
from data.store.db import read_session, write_session
from models.access import SYSTEM
from models.schemas import InputError
from models.tables import Assessment, AuditEvent, Invitation, SafetyAlert
from tests.clinical_factories import PHQ9_POST, log, make_course, make_patient
from tests.factories import make_user

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
PHQ9_ITEM9_ONE = [0, 0, 0, 0, 0, 0, 0, 0, 1]  # total 1, item 9 positive
GAD7 = [1, 1, 1, 1, 1, 1, 1]  # 7, mild


def rows(model) -> int:
    with read_session() as session:
        return session.exec(select(func.count()).select_from(model)).one()


def events(action: str) -> list[AuditEvent]:
    with read_session() as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)).all())


@pytest.fixture
def clinic(store_url):
    """Clinician of CL1, patient A (name Alice) with a course and infusion 1 saved, patient
    B in CL2 with the same."""
    dr = make_user("dr.a", "clinician", ("CL1",))
    make_user("dr.b", "clinician", ("CL2",))
    a = make_patient(SYSTEM, "P-A", name="Alice Example")
    log(SYSTEM, make_course(SYSTEM, a), 1)
    b = make_patient(SYSTEM, "P-B", clinic="CL2", name="Bob Other")
    log(SYSTEM, make_course(SYSTEM, b), 1)
    return {"dr": dr, "a": a, "b": b}


def invite(clinic, patient: str = "a", **kwargs):
    args = {"instruments": ["PHQ-9", "GAD-7"], "occasion": "post", "infusion_number": 1,
            "now": NOW, **kwargs}
    with write_session() as session:
        inv, token = create_invitation(session, actor=SYSTEM, patient_id=clinic[patient],
                                       **args)
    return inv, token


def answers(phq9=PHQ9_ITEM9_ONE, **extra):
    return [{"instrument": "PHQ-9", "items": list(phq9), **extra},
            {"instrument": "GAD-7", "items": GAD7}]


def nothing_written() -> None:
    assert rows(Assessment) == 0
    assert rows(SafetyAlert) == 0


# --- tokens ---------------------------------------------------------------------------

def test_tokens_are_256_bit_and_only_their_hash_is_stored(clinic):
    token = new_token()
    assert well_formed(token) and len(token) == 43 and new_token() != token
    assert not well_formed(token[:-1]) and not well_formed(token + "A")
    assert not well_formed(token[:-1] + "=") and not well_formed(None)
    inv, token = invite(clinic)
    with read_session() as session:
        stored = session.get(Invitation, inv.id)
    assert stored.token_hash == token_hash(token) != token
    assert invitation_url(token, "https://clinic.example/") == \
        f"https://clinic.example/respond?token={token}"


# --- creating -------------------------------------------------------------------------

@pytest.mark.parametrize(("kwargs", "field"), [
    ({"instruments": ["MADRS"]}, "instruments"),
    ({"instruments": ["BDI-II"]}, "instruments"),
    ({"instruments": []}, "instruments"),
    ({"instruments": ["PHQ-9", "PHQ-9"]}, "instruments"),
    ({"occasion": "later"}, "occasion"),
    ({"infusion_number": 0}, "infusion_number"),
    ({"infusion_number": 2}, "infusion_number"),  # not saved yet
    ({"expires_hours": 0}, "expires_hours"),
    ({"expires_hours": 721}, "expires_hours"),
    ({"expires_hours": 2.5}, "expires_hours"),
])
def test_bad_requests_name_the_field_and_write_nothing(clinic, kwargs, field):
    with pytest.raises(InputError) as exc:
        invite(clinic, **kwargs)
    assert field in exc.value.fields
    assert rows(Invitation) == 0


def test_a_patient_without_a_course_cannot_be_invited(clinic):
    lone = make_patient(SYSTEM, "P-LONE")
    with pytest.raises(InputError, match="course"):
        invite({"a": lone})


def test_a_clinician_cannot_invite_a_patient_of_another_clinic(clinic):
    from models.access import PermissionDenied

    with pytest.raises(PermissionDenied), write_session() as session:
        create_invitation(session, actor=clinic["dr"], patient_id=clinic["b"],
                          instruments=["PHQ-9"], occasion="pre", infusion_number=1)
    assert rows(Invitation) == 0


# --- opening and answering ------------------------------------------------------------

def test_open_shows_the_clinic_and_an_initial_only_and_is_audited(clinic):
    _, token = invite(clinic)
    view = open_link(token=token, now=NOW + timedelta(hours=1), throttle=Throttle())
    assert (view.clinic_name, view.initial, view.instruments) == ("CL1", "A.",
                                                                 ("PHQ-9", "GAD-7"))
    assert view.occasion_text == "after infusion 1"
    assert view.crisis_text == DEFAULT_CRISIS_TEXT
    assert "Alice" not in repr(view) and "P-A" not in repr(view)
    assert len(events("open")) == 1


def test_submit_writes_the_scores_as_patient_remote_with_the_alert(clinic):
    inv, token = invite(clinic)
    open_link(token=token, now=NOW, throttle=Throttle())
    done = submit_link(token=token, answers=answers(), now=NOW + timedelta(minutes=5))
    assert done.alert_opened and done.crisis_text == DEFAULT_CRISIS_TEXT
    with read_session() as session:
        scores = session.exec(select(Assessment)).all()
        alert = session.exec(select(SafetyAlert)).one()
        stored = session.get(Invitation, inv.id)
    assert sorted((s.instrument, s.timepoint, s.total, s.source) for s in scores) == [
        ("GAD-7", "post", 7, "patient_remote"), ("PHQ-9", "post", 1, "patient_remote")]
    assert alert.kind == "positive"
    assert stored.completed_at is not None
    submit = events("submit")
    assert [e.username for e in submit] == [f"patient-link:{inv.id}"]


def test_prefers_not_to_answer_item_9_opens_a_not_answered_alert(clinic):
    _, token = invite(clinic)
    done = submit_link(token=token, now=NOW, answers=answers(
        [0, 0, 0, 0, 0, 0, 0, 0, None], item9_declined=True))
    assert done.alert_opened
    with read_session() as session:
        assert session.exec(select(SafetyAlert.kind)).one() == "not_answered"


def test_item_9_blank_without_declining_is_refused_and_nothing_written(clinic):
    inv, token = invite(clinic)
    with pytest.raises(InputError):
        submit_link(token=token, now=NOW, answers=answers([0] * 8 + [None]))
    nothing_written()
    with read_session() as session:
        assert session.get(Invitation, inv.id).completed_at is None


def test_a_negative_phq9_shows_no_crisis_text(clinic):
    _, token = invite(clinic)
    assert not submit_link(token=token, now=NOW, answers=answers(PHQ9_POST)).alert_opened


@pytest.mark.parametrize("bad", [
    [{"instrument": "PHQ-9", "items": ["<script>alert(1)</script>"] * 9},
     {"instrument": "GAD-7", "items": GAD7}],
    [{"instrument": "PHQ-9", "items": PHQ9_ITEM9_ONE}],  # GAD-7 missing
    [{"instrument": "PHQ-9", "items": PHQ9_ITEM9_ONE}, {"instrument": "GAD-7", "items": GAD7},
     {"instrument": "PCL-5", "items": [0] * 20}],  # not invited
    [{"instrument": "PHQ-9", "items": [4] * 9}, {"instrument": "GAD-7", "items": GAD7}],
    "<script>",
])
def test_bad_answers_are_refused_and_nothing_written(clinic, bad):
    _, token = invite(clinic)
    with pytest.raises(InputError):
        submit_link(token=token, now=NOW, answers=bad)
    nothing_written()


# --- every bad token: one neutral message, nothing written ----------------------------

def _tampered(token: str) -> str:
    return ("B" if token[0] != "B" else "C") + token[1:]


@pytest.mark.parametrize("mangle", [
    _tampered, lambda t: t[:20], lambda t: t + "x", lambda t: "", lambda t: new_token(),
    lambda t: t.upper() if t.upper() != t else t.lower(), lambda t: None,
    lambda t: "' OR 1=1 --", lambda t: "<script>alert(1)</script>"],
    ids=["tampered", "truncated", "padded", "empty", "unknown", "case", "none", "sql", "script"])
def test_bad_tokens_get_the_neutral_message(clinic, mangle):
    _, token = invite(clinic)
    with pytest.raises(InvalidLink) as exc:
        open_link(token=mangle(token), now=NOW, throttle=Throttle(sleep=lambda s: None))
    assert str(exc.value) == INVALID_LINK_TEXT
    with pytest.raises(InvalidLink):
        submit_link(token=mangle(token), now=NOW, answers=answers())
    nothing_written()


def test_expired_used_and_revoked_links_are_neutral_and_write_nothing(clinic):
    _, expired = invite(clinic, expires_hours=1)
    _, used = invite(clinic, occasion="pre", instruments=["PHQ-9"])
    inv, revoked = invite(clinic, occasion="followup", instruments=["GAD-7"])
    submit_link(token=used, now=NOW, answers=[{"instrument": "PHQ-9", "items": PHQ9_POST}])
    with write_session() as session:
        revoke_invitation(session, actor=clinic["dr"], invitation_id=inv.id, now=NOW)
    before = (rows(Assessment), rows(SafetyAlert))
    for token in (expired, used, revoked):
        with pytest.raises(InvalidLink) as exc:
            open_link(token=token, now=NOW + timedelta(hours=2), throttle=Throttle())
        assert str(exc.value) == INVALID_LINK_TEXT  # never says which
    with pytest.raises(InvalidLink):  # a double submit
        submit_link(token=used, now=NOW, answers=[{"instrument": "PHQ-9", "items": PHQ9_POST}])
    assert (rows(Assessment), rows(SafetyAlert)) == before
    assert len(events("expire")) == 1 and len(events("revoke")) == 1


def test_expiry_while_the_form_is_open_says_so_and_writes_nothing(clinic):
    _, token = invite(clinic, expires_hours=1)
    open_link(token=token, now=NOW + timedelta(minutes=50), throttle=Throttle())
    with pytest.raises(LinkExpired) as exc:
        submit_link(token=token, now=NOW + timedelta(minutes=61), answers=answers())
    assert str(exc.value) == EXPIRED_MID_FORM_TEXT
    nothing_written()
    assert len(events("expire")) == 1
    with pytest.raises(InvalidLink):  # seen again: no second expire event
        open_link(token=token, now=NOW + timedelta(hours=3), throttle=Throttle())
    assert len(events("expire")) == 1


def test_a_token_for_patient_a_never_reaches_patient_b(clinic):
    _, token_b = invite(clinic, "b")
    inv_a, token_a = invite(clinic, "a")
    submit_link(token=token_a, now=NOW, answers=answers(PHQ9_POST))
    with read_session() as session:
        course_ids = set(session.exec(select(Assessment.course_id)).all())
        stored = session.get(Invitation, inv_a.id)
    from models.tables import Course

    with read_session() as session:
        owners = {session.get(Course, cid).patient_id for cid in course_ids}
    assert owners == {clinic["a"]} and stored.completed_at is not None
    view_b = open_link(token=token_b, now=NOW, throttle=Throttle())
    assert view_b.initial == "B." and view_b.clinic_name == "CL2"


def test_a_kiosk_token_does_not_work_as_a_link(clinic):
    _, token = invite(clinic, channel="kiosk")
    with pytest.raises(InvalidLink):
        open_link(token=token, now=NOW, throttle=Throttle())
    with pytest.raises(InvalidLink):
        submit_link(token=token, now=NOW, answers=answers())
    with pytest.raises(InvalidLink):  # kiosk answers need the clinician as actor
        submit_link(token=token, now=NOW, answers=answers(), channel="kiosk")
    nothing_written()


def test_list_shows_each_state_and_audits_an_expiry_once(clinic):
    _, _pending = invite(clinic)
    _, opened = invite(clinic, occasion="pre")
    open_link(token=opened, now=NOW, throttle=Throttle())
    invite(clinic, occasion="followup", expires_hours=1)
    inv, _ = invite(clinic, instruments=["PCL-5"])
    with write_session() as session:
        revoke_invitation(session, actor=clinic["dr"], invitation_id=inv.id, now=NOW)
    _, done = invite(clinic, instruments=["GAD-7"], occasion="followup")
    submit_link(token=done, now=NOW, answers=[{"instrument": "GAD-7", "items": GAD7}])
    for _ in range(2):
        with write_session() as session:
            listed = list_invitations(session, actor=clinic["dr"], patient_id=clinic["a"],
                                      now=NOW + timedelta(hours=2))
    assert sorted(r["state"] for r in listed) == [
        "completed", "expired", "opened", "pending", "revoked"]
    assert len(events("expire")) == 1
    with pytest.raises(InputError, match="nothing to revoke"), write_session() as session:
        revoke_invitation(session, actor=clinic["dr"], invitation_id=inv.id)


def test_the_throttle_grows_with_failures_is_capped_and_resets():
    slept: list[float] = []
    throttle = Throttle(sleep=slept.append, clock=lambda: 0.0)
    for _ in range(8):
        throttle.wait("1.2.3.4")
        throttle.failed("1.2.3.4")
    assert slept == [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert throttle.delay("5.6.7.8") == 0
    throttle.succeeded("1.2.3.4")
    assert throttle.delay("1.2.3.4") == 0


def test_bad_tokens_are_throttled_per_client(clinic):
    slept: list[float] = []
    throttle = Throttle(sleep=slept.append)
    for _ in range(3):
        with pytest.raises(InvalidLink):
            open_link(token=new_token(), now=NOW, client="10.0.0.9", throttle=throttle)
    assert slept == [0.25, 0.5]
