"""Test factories for users and clinics (the demo cohort lives in data/seed/seed.py)."""

from __future__ import annotations

from data.accounts.users import actor_for, create_user
from data.store.db import read_session, write_session
from models.access import SYSTEM, Actor
from models.tables import User

PASSWORD = "correct-horse-battery"


def make_user(username: str, role: str, clinics: tuple[str, ...] = ("CL1",),
              all_clinics: bool = False) -> Actor:
    """Create a user (clinics created when missing) and return their actor."""
    with write_session() as session:
        user = create_user(session, actor=SYSTEM, username=username, password=PASSWORD,
                           role=role, clinic_codes=() if role == "admin" else clinics,
                           all_clinics=all_clinics)
        return actor_for(session, user)


def get_user(username: str) -> User:
    from sqlmodel import select

    with read_session() as session:
        return session.exec(select(User).where(User.username == username)).one()
