"""AppTest helpers for the page tests: a fresh store, sign-in through the form, and
switching pages the way a user does (AppTest keeps the page it was last sent to)."""

from __future__ import annotations

import pytest
from sqlmodel import func, select
from streamlit.testing.v1 import AppTest

from data.store.db import read_session
from tests.apptest import fresh_app, submit_sign_in


@pytest.fixture
def app(store_url):
    with fresh_app() as at:
        yield at


def sign_in(at: AppTest, username: str) -> AppTest:
    """Sign in; the start page is Today for roles that record infusions, else Home."""
    submit_sign_in(at, username)
    assert at.title[0].value in ("Today", "Home")
    return at


def go(at: AppTest, page: str) -> AppTest:
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def values(elements) -> list[str]:
    return [e.value for e in elements]


def joined(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def count(model) -> int:
    with read_session() as session:
        return session.exec(select(func.count()).select_from(model)).one()


def table_with(at: AppTest, column: str):
    """The first dataframe shown with `column` (AppTest dataframes carry no key)."""
    for frame in at.dataframe:
        if column in frame.value.columns:
            return frame.value
    raise AssertionError(f"no table with a {column!r} column")
