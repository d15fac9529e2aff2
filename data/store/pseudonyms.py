"""Random study IDs for de-identified exports: not derived from the patient code
(HIPAA Safe Harbor); the mapping lives only in the store (Patient.study_id)."""

from __future__ import annotations

import secrets

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I


def new_study_id() -> str:
    """'S-' and 10 random characters (50 bits): collisions are checked by a unique index."""
    return "S-" + "".join(secrets.choice(_ALPHABET) for _ in range(10))


def new_study_ids(n: int) -> list[str]:
    """`n` study IDs as `new_study_id` makes them, from one call to the random source.

    Each character is a random byte modulo 32: 256 is a multiple of the alphabet's 32
    characters, so every character stays equally likely.
    """
    assert len(_ALPHABET) == 32
    letters = secrets.token_bytes(10 * n).translate(bytes(
        ord(_ALPHABET[b % 32]) for b in range(256))).decode("ascii")
    return ["S-" + letters[10 * i:10 * i + 10] for i in range(n)]
