"""The password rule (NIST SP 800-63B 3.1.1.2): length, and a check against passwords
that are common or specific to the context; no composition rules (no "one digit, one
symbol"), no periodic change.

A password is refused when it is:

- shorter than MIN_LENGTH (12) or longer than MAX_LENGTH (128) characters;
- made of fewer than MIN_DISTINCT (5) distinct characters (twelve spaces, one letter
  repeated, "abababababab");
- one short unit repeated ("abcabcabcabc", "passwordpassword");
- a run along the alphabet, the digits or a keyboard row ("abcdefghijkl", "123456789012",
  "qwertyuiopas", and backwards);
- once lowercased, with common letter swaps undone (@ 0 1 3 4 5 $ 7) and digits, symbols
  and spaces removed at both ends and between words, one of the common base words of
  data/common_passwords.txt, or several of them joined ("Password2024!",
  "Summer-Love-1234", "K3tamine.Clinic!");
- containing the username (or it reversed), or the user's full name.

The list ships with the code (no network at sign-up). Messages name the rule, never
the password.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

MIN_LENGTH = 12
MAX_LENGTH = 128
MIN_DISTINCT = 5
APP_WORDS = ("ketamine", "infusion", "outcome", "outcomes", "clinic", "dashboard", "tracker")
FILLERS = ("i", "my", "me", "you", "we", "our", "the", "a", "is", "to", "of", "and", "for",
           "in", "on", "it", "so", "be")
_SWAPS = str.maketrans({"@": "a", "4": "a", "0": "o", "1": "i", "!": "i", "3": "e",
                        "5": "s", "$": "s", "7": "t", "+": "t"})
_SYMBOL_SWAPS = str.maketrans({"@": "a", "$": "s"})
_SEQUENCES = ("abcdefghijklmnopqrstuvwxyz", "0123456789", "qwertyuiopasdfghjklzxcvbnm",
              "azertyuiopqsdfghjklmwxcvbn", "qwertzuiopasdfghjklyxcvbnm", "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p", "qazwsxedcrfvtgbyhnujmikolp")
_ENDS = re.compile(r"^[\W\d_]+|[\W\d_]+$")
_INSIDE = re.compile(r"[\W\d_]+")


@functools.lru_cache(maxsize=1)
def common_words() -> frozenset[str]:
    path = Path(__file__).with_name("common_passwords.txt")
    words = {line.strip().lower() for line in path.read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.startswith("#")}
    return frozenset(words | set(APP_WORDS) | set(FILLERS))


def _is_run(text: str) -> bool:
    """Along a sequence (alphabet, digits, keyboard row), forwards or backwards, wrapping."""
    for sequence in _SEQUENCES:
        for seq in (sequence, sequence[::-1]):
            if text in seq * (len(text) // len(seq) + 2):
                return True
    return False


def _is_repeated_unit(text: str) -> bool:
    return any(len(text) % k == 0 and text[:k] * (len(text) // k) == text
               for k in range(1, len(text) // 2 + 1))


def _joined_common_words(base: str) -> bool:
    """Whether `base` is one or more common words joined (a word-break check)."""
    words, n = common_words(), len(base)
    if not base:
        return True
    reachable = [True] + [False] * n
    for end in range(1, n + 1):
        reachable[end] = any(reachable[start] and base[start:end] in words
                             for start in range(max(0, end - 16), end))
    return reachable[n]


def password_problem(password: str, *, username: str = "", full_name: str = "") -> str | None:
    """Why `password` is refused ('password: ...'), or None."""
    if len(password) < MIN_LENGTH:
        return f"password: must be at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"password: at most {MAX_LENGTH} characters"
    lowered = password.lower()
    if len(set(lowered)) < MIN_DISTINCT:
        return (f"password: uses fewer than {MIN_DISTINCT} different characters; choose a "
                "longer phrase of unrelated words")
    compact = re.sub(r"\s+", "", lowered)
    if _is_repeated_unit(compact) or _is_run(compact):
        return "password: is a repeated or sequential pattern; choose unrelated words"
    name = username.strip().lower()
    if len(name) >= 3 and (name in lowered or name[::-1] in lowered):
        return "password: must not contain the username"
    for part in re.split(r"\s+", full_name.strip().lower()):
        if len(part) >= 3 and part in lowered:
            return "password: must not contain your name"
    stripped = _ENDS.sub("", lowered)
    variants = {_INSIDE.sub("", v) for v in (
        stripped, stripped.translate(_SWAPS), _ENDS.sub("", lowered.translate(_SWAPS)),
        _ENDS.sub("", lowered.translate(_SYMBOL_SWAPS)).translate(_SWAPS))}
    if any(_joined_common_words(v) for v in variants):
        return ("password: is too common (a common word or the app's name with digits or "
                "symbols added); choose a longer phrase of unrelated words")
    return None
