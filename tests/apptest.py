"""AppTest helpers shared by the page tests: the app on empty Streamlit caches, and the
sign-in form filled in and submitted the way a user does."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st
from streamlit.testing.v1 import AppTest

from data.store.settings import PROJECT_ROOT
from tests.factories import PASSWORD


@contextmanager
def fresh_app(timeout: int = 60) -> Iterator[AppTest]:
    """`dashboard.py` in AppTest, with the caches cleared before and after."""
    st.cache_resource.clear()
    st.cache_data.clear()
    try:
        yield AppTest.from_file(str(PROJECT_ROOT / "dashboard.py"), default_timeout=timeout)
    finally:
        st.cache_resource.clear()
        st.cache_data.clear()


def submit_sign_in(at: AppTest, username: str, password: str = PASSWORD) -> AppTest:
    """Open the app and submit the sign-in form (the outcome is for the caller to check)."""
    at.run()
    at.text_input(key="sign_in_username").input(username)
    at.text_input(key="sign_in_password").input(password)
    at.button[0].click().run()
    assert not at.exception
    return at
