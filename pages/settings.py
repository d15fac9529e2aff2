"""Protocol settings (medical directors): induction length N, dose limits, MADRS
remission cut-off, small-cell threshold, alert window for imports...; and, per clinic in
their scope, the on-call e-mail/webhook, the crisis text and the self-report schedule."""

from __future__ import annotations

import streamlit as st

from data.clinic.protocol import (
    PROTOCOL_FIELDS,
    TIMEPOINT_RULE_LABELS,
    TIMEPOINT_RULES,
    ProtocolError,
    ProtocolField,
    load_protocol,
    setting_label,
    update_protocol,
)
from data.store.db import read_session, write_session
from models.access import PermissionDenied
from ui.clinic_settings_form import clinic_settings_block
from ui.layout import page_setup
from ui.text import flash, show_flash, show_problems

actor = page_setup("edit_settings")
st.title("Protocol settings")
show_flash()
st.caption("These settings apply to every clinic in the store. Each change is recorded in "
           "the audit trail with the old and new value.")

with read_session() as session:
    current = load_protocol(session)


def setting_widget(spec: ProtocolField, value: object) -> object:
    key, label = f"setting_{spec.name}", setting_label(spec.name)
    default = (TIMEPOINT_RULE_LABELS.get(spec.default) if spec.kind is str
               else ("yes" if spec.default else "no") if spec.kind is bool else spec.default)
    help_text = f"{spec.help} Default: {default}."
    if spec.kind is bool:
        return st.checkbox(label, value=bool(value), key=key, help=help_text)
    if spec.kind is str:
        return st.selectbox(label, TIMEPOINT_RULES, index=TIMEPOINT_RULES.index(value), key=key,
                            format_func=TIMEPOINT_RULE_LABELS.get, help=help_text)
    if spec.kind is float:
        return st.number_input(label, value=float(value), step=0.05, format="%.2f", key=key,
                               help=help_text + f" Allowed: {spec.minimum:g}-{spec.maximum:g}.")
    return st.number_input(label, value=int(value), step=1, key=key,
                           help=help_text + f" Allowed: {spec.minimum:g}-{spec.maximum:g}.")


with st.form("protocol_settings"):
    values = {spec.name: setting_widget(spec, current[spec.name]) for spec in PROTOCOL_FIELDS}
    submitted = st.form_submit_button("Save settings", type="primary", key="save_settings")

if submitted:
    try:
        with write_session() as session:
            update_protocol(session, actor=actor, changes=values)
    except (ProtocolError, PermissionDenied) as exc:
        show_problems(exc)
    else:
        changed = [name for name, value in values.items() if current[name] != value]
        flash("success", "Saved: " + (", ".join(map(setting_label, changed)) or "no change")
              + ".")
        st.rerun()

st.divider()
clinic_settings_block(actor)
