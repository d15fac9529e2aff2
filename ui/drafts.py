"""Drafts of an unsaved form on screen (issue 12): the form's widget values (keys with
given prefixes) are kept server-side (data/clinic/drafts.py) on every run where they changed,
and offered back ("Restore your unsaved infusion from HH:MM" / "Discard") when the user
comes back to the same patient: after a reload, an idle sign-out or an unloaded tab.

The hook is two calls on the form's page: `offer_draft()` before the form's widgets
exist (restoring sets their values, applied by page_setup on the next run) and
`keep_draft()` after them. A draft not yet restored or discarded is never overwritten:
the form on screen is kept as a draft only once the user has decided.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time
from typing import Any

import streamlit as st

from data.clinic.drafts import DraftError, discard_draft, load_draft, my_drafts, save_draft
from data.store.db import read_session, write_session
from models.access import Actor, PermissionDenied
from models.validation import InputError
from ui.text import reset_widgets

STATE = "drafts_on_screen"  # {"<patient>:<kind>": {"baseline": str, "saved": str, "pending": bool}}
_SKIP = object()
KIND_LABELS = {"infusion": "infusion"}


def _jsonable(value: Any) -> Any:
    """A widget value as JSON (dates tagged so they come back as dates), or _SKIP."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, time):
        return {"$time": value.isoformat()}
    if isinstance(value, list | tuple):
        items = [_jsonable(v) for v in value]
        return _SKIP if any(i is _SKIP for i in items) else items
    return _SKIP


def _from_json(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        (tag, text), = value.items()
        parse = {"$datetime": datetime.fromisoformat, "$date": date.fromisoformat,
                 "$time": time.fromisoformat}.get(tag)
        if parse is not None:
            return parse(text)
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    return value


def snapshot(prefixes: tuple[str, ...]) -> dict[str, Any]:
    """The values of this run's widgets whose key starts with one of `prefixes`."""
    values = {}
    for key in sorted(k for k in st.session_state
                      if isinstance(k, str) and k.startswith(prefixes)):
        value = _jsonable(st.session_state[key])
        if value is not _SKIP:
            values[key] = value
    return values


def restored_values(payload: dict[str, Any]) -> dict[str, Any]:
    return {key: _from_json(value) for key, value in payload.items()}


def _slot(patient_id: int, kind: str) -> dict[str, Any]:
    return st.session_state.setdefault(STATE, {}).setdefault(f"{patient_id}:{kind}", {})


def _canonical(values: dict[str, Any]) -> str:
    return json.dumps(values, sort_keys=True, ensure_ascii=False)


def _local(moment: datetime) -> datetime:
    """The moment in the signed-in user's clinic time zone (data.store.clinic_time)."""
    from data.store.clinic_time import actor_zone, local

    actor = st.session_state.get("actor")
    if actor is None:
        return local(moment, None)
    with read_session() as session:
        return local(moment, actor_zone(session, actor))


def clock(moment: datetime) -> str:
    """HH:MM in the clinic's time zone."""
    return _local(moment).strftime("%H:%M")


def offer_draft(actor: Actor, patient_id: int, kind: str = "infusion") -> None:
    """Before the form: when the user has a draft for this patient that this tab has not
    restored or discarded yet, offer it back."""
    slot = _slot(patient_id, kind)
    if slot.get("decided"):
        return
    try:
        with read_session() as session:
            draft = load_draft(session, actor=actor, patient_id=patient_id, kind=kind)
    except (PermissionDenied, InputError):
        return
    if draft is None:
        slot["decided"] = True
        return
    slot["pending"] = True
    what = KIND_LABELS.get(kind, kind)
    with st.container(border=True, key=f"draft_offer_{kind}"):
        st.info(f"You have an unsaved {what} for this patient, kept at "
                f"{clock(draft.updated_at)} on {_local(draft.updated_at):%d %b %Y}.",
                icon=":material/draft:")
        with st.container(horizontal=True, wrap=True):  # wraps on a phone, never truncates
            restore = st.button(f"Restore your unsaved {what} from {clock(draft.updated_at)}",
                                key=f"draft_restore_{kind}", type="primary")
            discard = st.button("Discard", key=f"draft_discard_{kind}")
        st.caption("Until you choose, what you type below is not kept as a draft.")
    if restore:
        values = restored_values(draft.payload)
        reset_widgets(values=values)  # applied by page_setup before the widgets exist
        st.session_state[STATE][f"{patient_id}:{kind}"] = {
            "decided": True, "baseline": None, "saved": _canonical(draft.payload)}
        st.rerun()
    if discard:
        with write_session() as session:
            discard_draft(session, actor=actor, patient_id=patient_id, kind=kind)
        st.session_state[STATE][f"{patient_id}:{kind}"] = {"decided": True}
        st.rerun()


DRAFTED_FORM = "infusion"  # the form (ui.field_errors name) whose widgets are drafted
LAST_KEEP = "_draft_keep_args"  # what the page last drafted: a fragment's rerun drafts it too


def keep_draft(actor: Actor, patient_id: int, prefixes: tuple[str, ...],
               kind: str = "infusion") -> None:
    """After the form: keep its values as the user's draft when they changed since the
    last run (and differ from the blank form this tab first showed)."""
    st.session_state[LAST_KEEP] = (actor, patient_id, prefixes, kind)
    slot = _slot(patient_id, kind)
    if not slot.get("decided"):
        return  # an offered draft is never overwritten before the user chose
    values = snapshot(prefixes)
    current = _canonical(values)
    if slot.get("baseline") is None and slot.get("saved") is None:
        slot["baseline"] = current  # the form as first shown: nothing typed yet
    if current in (slot.get("baseline"), slot.get("saved")):
        return
    try:
        with write_session() as session:
            save_draft(session, actor=actor, patient_id=patient_id, kind=kind, payload=values)
    except DraftError as exc:
        st.caption(f"Not kept as a draft: {exc}")
        return
    slot["saved"] = current


def keep_current_draft() -> None:
    """At the end of a fragment inside the drafted form (a questionnaire: a radio tap reruns
    only the fragment, not the page whose end calls keep_draft): draft the form again."""
    if args := st.session_state.get(LAST_KEEP):
        keep_draft(*args)


def forget_draft(session, *, actor: Actor, patient_id: int,
                 kind: str = "infusion") -> None:
    """Inside the save's transaction: the draft became a record (not audited apart)."""
    discard_draft(session, actor=actor, patient_id=patient_id, kind=kind, saved=True)


def after_save(patient_id: int, kind: str = "infusion") -> None:
    """After a successful save: the next (blank) form is a new baseline."""
    st.session_state.setdefault(STATE, {})[f"{patient_id}:{kind}"] = {"decided": True}


def drafts_notice(actor: Actor) -> None:
    """On Home: the user's unsaved drafts, each with a button opening its form."""
    with read_session() as session:
        drafts = my_drafts(session, actor=actor)
    if not drafts:
        return
    with st.container(border=True, key="drafts_notice"):
        st.markdown("**Unsaved work kept for you**")
        for draft, patient in drafts:
            cols = st.columns([3, 1], vertical_alignment="center")
            cols[0].text(f"{KIND_LABELS.get(draft.kind, draft.kind).capitalize()} for "
                         f"patient {patient.patient_code}, kept at "
                         f"{clock(draft.updated_at)} on {_local(draft.updated_at):%d %b}")
            if cols[1].button("Open", key=f"open_draft_{draft.id}"):
                st.session_state["patient_id"] = draft.patient_id
                st.session_state["entry_mode"] = "New infusion"
                st.switch_page("pages/infusion.py")
