"""Issue 15, input, relatives of the NUL that crashed the PostgreSQL import: no typed
text reaches the store unchecked. Each case is refused naming its field (InputError /
UserError / ExportError / UnstorableText, all ValueErrors: exit 2 on the command line),
never a driver error that echoes the statement."""

from __future__ import annotations

import pytest

from data.accounts.users import UserError, create_user, get_or_create_clinic
from data.audit.audit_queries import AuditFilter, search_events
from data.exports import ExportError, ExportRequest, run_export
from data.exports.service import clinic_ids_for
from data.store import audit
from data.store.db import read_session, write_session
from models.access import SYSTEM
from tests.factories import PASSWORD


def test_an_audit_reason_passes_the_text_rule(store_url):
    with pytest.raises(ValueError, match="reason: contains a control character"), \
            write_session() as session:
        audit.record(session, actor=SYSTEM, action="note", reason="why\x00")


@pytest.mark.parametrize(("call", "field"), [
    (lambda s: create_user(s, actor=None, username="first.admin", password=PASSWORD,
                           role="admin", full_name="Ann\x00"), "full name"),
    (lambda s: get_or_create_clinic(s, actor=SYSTEM, code="CL9", name="North\uffff"),
     "clinic name"),
    (lambda s: get_or_create_clinic(s, actor=SYSTEM, code="=CL9"), "clinic"),
    (lambda s: get_or_create_clinic(s, actor=SYSTEM, code="CL\x009"), "clinic"),
])
def test_user_and_clinic_text_is_checked(store_url, call, field):
    with pytest.raises(UserError, match=f"^{field}: "), write_session() as session:
        call(session)


@pytest.mark.parametrize(("request_", "field"), [
    (ExportRequest("patients", "csv", deidentified=False, reason="care\x00team"), "reason"),
    (ExportRequest("patients", "csv", deidentified=False, reason="care\ufffeteam"), "reason"),
])
def test_an_export_reason_passes_the_text_rule(store_url, request_, field):
    with pytest.raises(ExportError, match=f"^{field}: contains"):
        run_export(actor=SYSTEM, request=request_)


def test_an_export_clinic_code_passes_the_clinic_rule(store_url):
    with read_session() as session, pytest.raises(ExportError, match=r"clinic: .* not a clinic"):
        clinic_ids_for(session, ["CL\x001"])


def test_a_nul_typed_in_a_filter_is_refused_without_sql(store_url):
    """On PostgreSQL the engine guard refuses it; on SQLite it simply matches nothing."""
    with read_session() as session:
        try:
            search_events(session, actor=SYSTEM, filters=AuditFilter(patient="P\x001"))
        except ValueError as exc:
            assert "U+0000" in str(exc) and "SELECT" not in str(exc)
