"""Import page (AppTest): a dry run lists every refused row (line, field, reason) and
writes nothing; Import is enabled only by a clean dry run of the same file and writes it
all, audited as the command line's import; bad files get a clear message; only directors
and administrators see the page."""

from __future__ import annotations

import hashlib

import pytest
from sqlmodel import select

from data.imports.import_csv import MAX_IMPORT_BYTES
from data.store.db import read_session
from models.tables import Assessment, AuditEvent, Patient
from tests.factories import make_user
from tests.pages.conftest import count, go, joined, sign_in, table_with

HEADER = "patient_id,clinic,infusion_number,timepoint,date,instrument," + ",".join(
    f"item_{n}" for n in range(1, 8))
GOOD_PRE = "P-1,CL1,1,pre,2024-06-01,GAD-7,1,1,1,1,1,1,1"
GOOD_POST = "P-1,CL1,1,post,2024-06-01,GAD-7,0,0,0,0,0,0,1"
BAD_FILE = "\n".join([
    HEADER,
    GOOD_PRE,                                              # line 2: fine
    "P-1,CL1,1,post,2024-06-01,GAD-7,0,0,0,0,0,0,4",       # line 3: item 7 is 0-3
    "P-2,CL1,1,pre,1995-06-01,GAD-7,1,1,1,1,1,1,1",        # line 4: before 2000
    "P\x01X,CL1,1,pre,2024-06-01,GAD-7,1,1,1,1,1,1,1",     # line 5: a control character
]).encode() + b"\n"
CLEAN_FILE = f"{HEADER}\n{GOOD_PRE}\n{GOOD_POST}\n".encode()


@pytest.fixture
def users(store_url):
    make_user("boss", "director", ("CL1",))
    make_user("root.admin", "admin")
    make_user("clin", "clinician", ("CL1",))
    make_user("aud", "auditor", ("CL1",))


def _upload(app, raw: bytes, name: str = "scores.csv"):
    app.file_uploader(key="import_file").set_value((name, raw, "text/csv"))
    app.run()
    assert not app.exception, app.exception
    return app


def _dry_run(app):
    app.button(key="import_dry_run").click().run()
    assert not app.exception, app.exception
    return app


def _metrics(app) -> dict[str, str]:
    return {m.label: m.value for m in app.metric}


def _imports() -> list[AuditEvent]:
    with read_session() as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == "import")))


def test_dry_run_lists_every_bad_row_and_writes_nothing(app, users):
    go(sign_in(app, "boss"), "pages/import.py")
    assert app.title[0].value == "Import"
    assert app.button(key="import_confirm").disabled  # nothing checked yet
    _dry_run(_upload(app, BAD_FILE))
    assert _metrics(app) == {"Rows read": "4", "Rows refused": "3", "Would import": "0"}
    table = table_with(app, "Reason")
    assert table.to_dict("records") == [
        {"Line": 3, "Field": "Item 7 (item_7)",
         "Reason": "4 is out of range; answers are integers 0-3"},
        {"Line": 4, "Field": "Visit date (date)",
         "Reason": "1995-06-01 is not plausible; dates are on or after 2000-01-01"},
        {"Line": 5, "Field": "Patient ID (patient_id)",
         "Reason": "contains a control character (U+0001); only printable text is accepted "
                   "on one line"},
    ]
    assert "cannot be imported as it is" in joined(app.error)
    assert app.button(key="import_confirm").disabled
    assert count(Patient) == 0 and count(Assessment) == 0 and _imports() == []


def test_import_needs_a_clean_dry_run_of_the_same_file_then_writes_it_all(app, users):
    go(sign_in(app, "boss"), "pages/import.py")
    _dry_run(_upload(app, CLEAN_FILE))
    assert _metrics(app) == {"Rows read": "2", "Rows refused": "0", "Would import": "2"}
    assert app.button(key="import_confirm").disabled is False
    # another file (one byte more): its dry run is still to do
    _upload(app, CLEAN_FILE + b"\n", name="other.csv")
    assert app.button(key="import_confirm").disabled
    _dry_run(_upload(app, CLEAN_FILE))
    assert count(Assessment) == 0  # a dry run writes nothing
    app.button(key="import_confirm").click().run()
    assert not app.exception, app.exception
    assert count(Patient) == 1 and count(Assessment) == 2
    assert ("Imported 2 rows: created 1 patients, 1 courses, 1 infusions, 2 questionnaires"
            in joined(app.success))
    [event] = _imports()  # the command line's audit event: file hash, no identifiers
    digest = hashlib.sha256(CLEAN_FILE).hexdigest()
    assert (event.username, event.entity, event.entity_id) == ("boss", "scores", digest)
    assert "P-1" not in (event.new_value or "")
    assert app.button(key="import_confirm").disabled  # the dry run is used up


def test_an_administrator_imports_patients_into_any_clinic(app, users):
    go(sign_in(app, "root.admin"), "pages/import.py")
    app.radio(key="import_kind").set_value("patients").run()
    raw = b"patient_id,clinic,name,birth_date\nP-7,CL1,Ann Lee,1980-05-17\nP-8,CL2,Bo,\n"
    _dry_run(_upload(app, raw, "patients.csv"))
    assert _metrics(app)["Would import"] == "2"
    assert "create 1 clinics, 2 patients" in joined(app.success)
    app.button(key="import_confirm").click().run()
    with read_session() as session:
        codes = sorted(session.exec(select(Patient.patient_code)).all())
    assert codes == ["P-7", "P-8"]
    [event] = _imports()
    assert (event.username, event.entity) == ("root.admin", "patients")


@pytest.mark.parametrize("role_user", ["clin", "aud"])
def test_clinicians_and_auditors_have_no_import_page(app, users, role_user):
    sign_in(app, role_user)
    with pytest.raises(ValueError):
        app.switch_page("pages/import.py").run()


@pytest.mark.parametrize(("raw", "message"), [
    ("patient_id,clinic,infusion_number,timepoint,date,instrument\nZoë,CL1,1,pre,"
     "2024-06-01,PHQ-9\n".encode("latin-1"), "the file is not UTF-8 text (byte 0xeb"),
    (b"patient;clinic\nP-1;CL1\n", "the header lacks required column(s)"),
    (b"", "the file is empty"),
    (b"x" * (MAX_IMPORT_BYTES + 1), "an import file may be at most 50 MB"),
], ids=["latin-1", "wrong header", "empty", "too large"])
def test_a_bad_file_gets_a_clear_message_and_nothing_is_written(app, users, raw, message):
    go(sign_in(app, "boss"), "pages/import.py")
    _dry_run(_upload(app, raw))
    errors = joined(app.error)
    assert "The file cannot be imported: " in errors and message in errors
    assert "Nothing was written." in errors
    assert app.button(key="import_confirm").disabled
    assert count(Patient) == 0 and _imports() == []
