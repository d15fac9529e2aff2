"""Entry point: page config, first-run setup, sign-in, and a role-aware navigation
over pages/. Run: streamlit run dashboard.py"""

from __future__ import annotations

import os

import streamlit as st

import data.analytics.course_outcomes  # noqa: F401 - a save refreshes its course's outcome after commit (data.store.outcome_queue)
from data.accounts.users import count_users
from data.store.db import read_session
from ui.first_run import first_run_screen
from ui.kiosk import BACK_FROM_KIOSK, in_kiosk_mode, kiosk_screen
from ui.outcome_cache import start_updates
from ui.respond import wants_respond_page
from ui.session import current_actor, ensure_store, sign_in_form
from ui.style import page_style

# The sidebar's state is set once per run in main(), after the page is known (a second
# call in the same run raced in the browser).
st.set_page_config(page_title="Ketamine outcome tracker", page_icon="📈", layout="wide")

PAGES = {
    # (file, title, icon, permission needed or None)
    "today": ("pages/today.py", "Today", ":material/today:", "record_infusions"),
    "home": ("pages/home.py", "Home", ":material/home:", None),
    "patients": ("pages/patients.py", "Patients", ":material/group:", "view_patients"),
    "outcomes": ("pages/outcomes.py", "Outcomes", ":material/monitoring:", "view_outcomes"),
    "users": ("pages/users.py", "Users", ":material/manage_accounts:", "manage_users"),
    "audit": ("pages/audit.py", "Audit trail", ":material/policy:", "view_audit"),
    "exports": ("pages/exports.py", "Exports", ":material/download:", "export_deidentified"),
    "account": ("pages/account.py", "Account", ":material/key:", None),
    "patient": ("pages/patient.py", "Patient record", ":material/person:", "view_patients"),
    "infusion": ("pages/infusion.py", "Log infusion", ":material/vaccines:", "record_infusions"),
    "safety": ("pages/safety.py", "Safety alerts", ":material/emergency:", "view_alerts"),
    "settings": ("pages/settings.py", "Protocol settings", ":material/tune:", "edit_settings"),
    "import": ("pages/import.py", "Import", ":material/upload_file:", "import_data"),
}


def start_page(actor) -> str:
    """Clinicians and directors start on Today (their day's patients); the others on Home."""
    return "today" if actor.can(PAGES["today"][3]) else "home"


def navigation_for(actor) -> list[st.Page]:
    """The pages this actor's role may open (the services enforce the same rules)."""
    start = start_page(actor)
    return [
        st.Page(path, title=title, icon=icon, default=key == start, url_path=key)
        for key, (path, title, icon, permission) in PAGES.items()
        if permission is None or actor.can(permission)
    ]


def only(screen, title: str, url_path: str) -> None:
    """This tab shows one screen and no navigation (the kiosk, the patient's page)."""
    st.navigation([st.Page(screen, title=title, url_path=url_path)], position="hidden").run()


def main() -> None:
    ensure_store()
    page_style()  # metrics that fit a tablet's columns (ui/style.py)
    if os.environ.get("OUTCOME_UPDATES_AFTER_SAVE", "on") != "off":
        start_updates()  # a save's patients patched into the Outcomes page off its render
    # The kiosk first: while it is on, nothing else is reachable in this tab (not even a
    # link's page); then the patient's page, before any sign-in (docs/SELF_REPORT.md).
    if in_kiosk_mode():
        if current_actor() is None:  # timed out: sign_out() ended the kiosk with the session
            only(sign_in_screen, "Sign in", "sign-in")
        else:
            only(kiosk_screen, "Questionnaire", "kiosk")
        return
    if wants_respond_page():
        only("pages/respond.py", "Questionnaire", "respond")
        return
    with read_session() as session:
        n_users = count_users(session)
    if n_users == 0:
        st.navigation([st.Page(first_run_screen, title="Set up", url_path="setup")]).run()
        return
    actor = current_actor()
    if actor is None:
        st.navigation([st.Page(sign_in_screen, title="Sign in", url_path="sign-in")]).run()
        return
    if st.session_state.get("must_change_password"):  # ui.session: at sign-in, page runs
        account = PAGES["account"]
        st.navigation([st.Page(account[0], title=account[1], url_path="account")]).run()
        return
    page = st.navigation(navigation_for(actor))
    if st.session_state.pop(BACK_FROM_KIOSK, False) and actor.can("record_infusions"):
        st.switch_page("pages/infusion.py")  # the clinician's screen, with the kiosk's result
    # One sidebar state per run (two calls in one run raced in the browser and sometimes
    # re-opened it): collapsed on the infusion screen, whose form needs a tablet's width.
    st.set_page_config(initial_sidebar_state="collapsed" if page.url_path == "infusion"
                       else "auto")
    page.run()


def sign_in_screen() -> None:
    if st.session_state.pop("setup_done", False):
        st.success("Administrator created. Sign in to continue.")
    sign_in_form()


main()
