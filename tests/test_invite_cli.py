"""`manage.py invite`: the JSON it prints (and only that), a link that opens, and exit 2
with the field named on bad input."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from data.selfreport.invitations import open_link
from data.selfreport.throttle import Throttle
from models.access import SYSTEM
from tests.clinical_factories import log, make_course, make_patient
from tests.factories import make_user
from tests.test_cli import manage


@pytest.fixture
def patient(store_url):
    make_user("dr.a", "clinician", ("CL1",))
    make_user("dr.b", "clinician", ("CL2",))
    pid = make_patient(SYSTEM, "P-A", name="Alice")
    log(SYSTEM, make_course(SYSTEM, pid), 1)
    return pid


def test_invite_prints_the_link_as_json(store_url, patient):
    result = manage("invite", "P-A", "--clinic", "CL1", "--instruments", "PHQ-9,GAD-7",
                    "--occasion", "pre", "--infusion", "1", "--expires-hours", "24",
                    "--base-url", "https://clinic.example/", "--format", "json",
                    env_url=store_url)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert sorted(out) == ["expires_at", "invitation_id", "url"]
    assert out["url"].startswith("https://clinic.example/respond?token=")
    expires = datetime.fromisoformat(out["expires_at"])
    assert timedelta(hours=23, minutes=59) < expires - datetime.now(expires.tzinfo) \
        <= timedelta(hours=24)
    view = open_link(token=out["url"].split("token=")[1], throttle=Throttle())
    assert view.invitation_id == out["invitation_id"]
    assert view.instruments == ("PHQ-9", "GAD-7")


@pytest.mark.parametrize(("args", "named"), [
    (["--instruments", "MADRS"], "instruments"),
    (["--occasion", "someday"], "occasion"),
    (["--infusion", "0"], "infusion_number"),
    (["--infusion", "3"], "infusion_number"),
    (["--expires-hours", "9999"], "expires_hours"),
    (["--clinic", "NOPE"], "--clinic"),
    (["--clinic", "CL2"], "PATIENT_ID: no patient with code 'P-A' in clinic CL2"),
    (["--format", "csv"], "--format"),
])
def test_bad_input_exits_2_naming_the_field(store_url, patient, args, named):
    base = {"--clinic": "CL1", "--instruments": "PHQ-9", "--occasion": "post",
            "--infusion": "1"}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    flat = [part for pair in base.items() for part in pair]
    result = manage("invite", "P-A", *flat, env_url=store_url)
    assert result.returncode == 2
    assert named in result.stderr and result.stdout == ""
