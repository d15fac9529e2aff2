"""Every protocol setting a director sees has a human label (issue 12 item 9)."""

from data.clinic.protocol import PROTOCOL_FIELDS, SETTING_LABELS, setting_label


def test_every_protocol_setting_has_a_human_label():
    missing = [f.name for f in PROTOCOL_FIELDS if f.name not in SETTING_LABELS]
    assert not missing, f"add a label to data/clinic/protocol.py SETTING_LABELS: {missing}"
    assert all("_" not in setting_label(f.name) for f in PROTOCOL_FIELDS)
