"""Issue 15, input: the password rule (data/accounts/passwords.py, NIST SP 800-63B: length and a
check against common and context-specific passwords, no composition rules), and a
password change ends the user's other sessions (the one that changed it goes on).

Each case: the password, whether it is refused (the rule's words) or accepted.
"""

from __future__ import annotations

import pytest

from data.accounts.passwords import common_words, password_problem
from data.accounts.users import UserError, change_own_password, create_user, session_check, sign_in
from data.store.db import read_session, write_session
from tests.apptest import fresh_app, submit_sign_in
from tests.factories import PASSWORD, make_user

CASES = [
    # (password, fragment of the refusal, or None when accepted)
    ("short-11chr", "at least 12 characters"),
    (" " * 12, "fewer than 5 different characters"),
    ("a" * 12, "fewer than 5 different characters"),
    ("abababababab", "fewer than 5 different characters"),
    ("abcdeabcdeabcde", "repeated or sequential"),
    ("abcdefghijkl", "repeated or sequential"),
    ("lkjihgfedcba", "repeated or sequential"),
    ("123456789012", "repeated or sequential"),
    ("qwertyuiopas", "repeated or sequential"),
    ("1qaz2wsx3edc", "repeated or sequential"),
    ("passwordpassword", "repeated or sequential"),
    ("Password2024!", "too common"),
    ("P@ssw0rd12345", "too common"),
    ("Summer-Love-1234", "too common"),
    ("iloveyou2024!!", "too common"),
    ("@dmin12345678", "too common"),
    ("Welcome123456", "too common"),
    ("K3tamine.Clinic!", "too common"),  # the app's name
    ("ketamineoutcomes", "too common"),
    ("Infusion-2024!!", "too common"),
    ("dr.alice.smith1", "must not contain the username"),
    ("htims.ecila.rd-99", "must not contain the username"),  # reversed
    ("Smithsonian-lake", "must not contain your name"),
    ("x" * 129 + "abcd", "at most 128 characters"),
    ("correct-horse-battery", None),
    ("the cat sat on my keyboard", None),
    ("Tr0ub4dor&3xyz", None),
    ("purple monkey dishwasher 7", None),
    ("a-brand-new-password", None),
]


@pytest.mark.parametrize(("password", "refusal"), CASES, ids=[repr(c[0])[:24] for c in CASES])
def test_password_rule(password, refusal):
    problem = password_problem(password, username="dr.alice.smith", full_name="Alice Smith")
    if refusal is None:
        assert problem is None
    else:
        assert problem is not None and refusal in problem and problem.startswith("password:")
        assert password not in problem  # never echoed


def test_the_shipped_list_is_there_and_has_no_password_that_passes_the_length_rule():
    words = common_words()
    assert {"password", "qwerty", "iloveyou", "ketamine", "clinic"} <= words
    assert all(len(w) < 40 for w in words)


@pytest.mark.parametrize("password", ["Password2024!", "aaaaaaaaaaaa", "boss.director-1"])
def test_every_way_of_setting_a_password_applies_the_rule(store_url, password):
    with write_session() as session, pytest.raises(UserError, match="password:"):
        create_user(session, actor=None, username="boss.director", password=password,
                    role="admin")


def test_a_password_change_ends_the_other_sessions_but_not_its_own(store_url):
    make_user("dr.x", "clinician", ("CL1",))
    tab_a = sign_in(username="dr.x", password=PASSWORD)
    tab_b = sign_in(username="dr.x", password=PASSWORD)
    kept = change_own_password(actor=tab_a, old_password=PASSWORD,
                               new_password="granite otter lantern")
    with read_session() as session:
        assert session_check(session, actor=kept) == "ok"
        assert session_check(session, actor=tab_b) == "password_changed"
        assert session_check(session, actor=tab_a) == "password_changed"  # the old actor


def test_in_the_app_the_other_tab_is_signed_out_at_its_next_run(store_url):
    make_user("dr.y", "clinician", ("CL1",))
    with fresh_app() as tab_a, fresh_app() as tab_b:
        submit_sign_in(tab_a, "dr.y")
        submit_sign_in(tab_b, "dr.y")
        tab_a.switch_page("pages/account.py").run()
        tab_a.text_input(key="account_old_password").input(PASSWORD)
        tab_a.text_input(key="account_new_password").input("granite otter lantern")
        tab_a.text_input(key="account_confirm_password").input("granite otter lantern")
        tab_a.button(key="account_change_password").click().run()
        assert not tab_a.exception
        assert [s.value for s in tab_a.success] == ["Password changed."]
        tab_a.run()
        assert "actor" in tab_a.session_state  # the tab that changed it stays signed in
        tab_b.run()
        assert "actor" not in tab_b.session_state
        # (AppTest reruns only the page, so the sign-in form itself is not drawn)
        assert "password of this account was changed" in tab_b.session_state[
            "signed_out_message"]
