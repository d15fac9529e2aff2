"""The clinic's time zone: 'today' and displayed times, hand-computed from the zones' rules.

Offsets used (December, no daylight saving in the north, daylight saving in New Zealand):
Europe/Berlin UTC+1, America/Los_Angeles UTC-8, Pacific/Auckland UTC+13 (NZDT)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlmodel import select

from data.selfreport.clinic_settings import ClinicSettingError, update_clinic_settings
from data.store.clinic_time import (
    ClinicTimeError,
    actor_today,
    check_time_zone,
    format_date,
    format_datetime,
    today_in,
)
from data.store.db import read_session, write_session
from data.store.settings import get_settings
from models.access import SYSTEM
from models.tables import AuditEvent, Clinic
from tests.factories import make_user

LATE = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)  # a Sunday, 23:30 UTC


def test_2330_utc_is_the_next_day_in_berlin_and_the_same_day_in_los_angeles():
    assert today_in("Europe/Berlin", now=LATE) == date(2026, 12, 7)  # 00:30 on the 7th
    assert today_in("America/Los_Angeles", now=LATE) == date(2026, 12, 6)  # 15:30 the 6th
    assert today_in("UTC", now=LATE) == date(2026, 12, 6)


def test_today_in_auckland_runs_ahead():
    # 10:59 UTC on 6 Dec = 23:59 NZDT on the 6th; 11:00 UTC = 00:00 on the 7th
    assert today_in("Pacific/Auckland", now=datetime(2026, 12, 6, 10, 59, tzinfo=UTC)) == \
        date(2026, 12, 6)
    assert today_in("Pacific/Auckland", now=datetime(2026, 12, 6, 11, 0, tzinfo=UTC)) == \
        date(2026, 12, 7)
    # in July (NZST, UTC+12): 12:00 UTC on 1 July is 00:00 on 2 July
    assert today_in("Pacific/Auckland", now=datetime(2026, 7, 1, 12, 0, tzinfo=UTC)) == \
        date(2026, 7, 2)


def test_a_clinic_row_gives_its_zone():
    clinic = Clinic(code="B", name="B", created_at=LATE, time_zone="Europe/Berlin")
    assert today_in(clinic, now=LATE) == date(2026, 12, 7)


def test_times_show_in_the_clinic_zone_without_an_offset():
    moment = datetime(2026, 12, 6, 13, 5, tzinfo=UTC)
    assert format_datetime(moment, "Europe/Berlin") == "6 Dec 2026 14:05"
    assert format_datetime(moment, "America/Los_Angeles") == "6 Dec 2026 05:05"
    assert format_datetime(LATE, "Pacific/Auckland") == "7 Dec 2026 12:30"
    assert format_datetime(None, "UTC") == "—"
    assert format_date(date(2027, 1, 2)) == "2 Jan 2027"
    assert format_date(None) == "—"
    assert "+00:00" not in format_datetime(moment, "UTC")


@pytest.mark.parametrize("bad", ["", "Mars/Olympus", "Europe/../etc/passwd", "x" * 65,
                                 "/etc/localtime"])
def test_a_zone_that_is_not_iana_is_refused_naming_the_field(bad):
    with pytest.raises(ClinicTimeError, match=r"^time_zone: "):
        check_time_zone(bad)


def test_a_director_sets_the_clinic_zone_audited_and_validated(store_url):
    director = make_user("dir", "director", ("CL1",))
    with read_session() as session:
        assert session.exec(select(Clinic)).one().time_zone == "UTC"  # the default
    with write_session() as session:
        update_clinic_settings(session, actor=director, code="CL1",
                               changes={"time_zone": "Pacific/Auckland"})
    with read_session() as session:
        assert session.exec(select(Clinic)).one().time_zone == "Pacific/Auckland"
        event = session.exec(select(AuditEvent).where(AuditEvent.field == "time_zone")).one()
        assert (event.old_value, event.new_value) == ("UTC", "Pacific/Auckland")
        assert actor_today(session, director, now=datetime(2026, 12, 6, 11, 0, tzinfo=UTC)) \
            == date(2026, 12, 7)
    with pytest.raises(ClinicSettingError, match="time_zone"), write_session() as session:
        update_clinic_settings(session, actor=director, code="CL1",
                               changes={"time_zone": "Nowhere/City"})


def test_a_new_clinic_takes_the_deployment_zone(store_url, monkeypatch):
    monkeypatch.setenv("CLINIC_TIME_ZONE", "America/Los_Angeles")
    get_settings.cache_clear()
    make_user("clin", "clinician", ("LA1",))
    with read_session() as session:
        clinic = session.exec(select(Clinic).where(Clinic.code == "LA1")).one()
    assert clinic.time_zone == "America/Los_Angeles"
    with write_session() as session:
        update_clinic_settings(session, actor=SYSTEM, code="LA1", changes={"time_zone": "UTC"})
    get_settings.cache_clear()
