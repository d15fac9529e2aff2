"""Random study IDs for de-identified exports: not derived from the patient code
(HIPAA Safe Harbor); the mapping lives only in the store (Patient.study_id)."""

from __future__ import annotations

import secrets

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I


def new_study_id() -> str:
    """'S-' and 10 random characters (50 bits): collisions are checked by a unique index."""
    return "S-" + "".join(secrets.choice(_ALPHABET) for _ in range(10))
