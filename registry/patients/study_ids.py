"""Pseudonymous study ids: `<COUNTRY>-<SITE>-<NNNN><check>`, e.g. NO-OUS-0001 followed by one check character.

The check character is ISO/IEC 7064 MOD 37,36 (the "hybrid" system for alphanumeric strings, also used by
GRid and ISAN): it is computed over the id's letters and digits with the hyphens removed, and is itself one
of 0-9 A-Z. It catches every single-character substitution and every transposition of adjacent
characters, the two errors people make when they copy an id from a label onto a requisition form.
Pure functions; no Django.
"""

from __future__ import annotations

import re

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_MODULUS = 36

#: The shape of a study id (the site code is 2–8 upper-case alphanumerics, see sites.Site).
STUDY_ID_PATTERN = r"^[A-Z]{2}-[A-Z0-9]{2,8}-[0-9]{4,}[0-9A-Z]$"
_STUDY_ID_RE = re.compile(STUDY_ID_PATTERN)


def _characters(text: str) -> str:
    chars = text.replace("-", "").upper()
    if not chars or any(c not in ALPHABET for c in chars):
        raise ValueError(f"{text!r} must consist of letters, digits and hyphens only")
    return chars


def _state(chars: str) -> int:
    product = _MODULUS
    for c in chars:
        total = (product + ALPHABET.index(c)) % _MODULUS or _MODULUS
        product = (total * 2) % (_MODULUS + 1)
    return product


def check_character(text: str) -> str:
    """The ISO 7064 MOD 37,36 check character of the letters and digits in `text`."""
    return ALPHABET[(_MODULUS + 1 - _state(_characters(text))) % _MODULUS]


def has_valid_check_character(study_id: str) -> bool:
    """Whether the last character of `study_id` is the check character of everything before it."""
    try:
        chars = _characters(study_id)
    except ValueError:
        return False
    product = _state(chars[:-1])
    return (product + ALPHABET.index(chars[-1])) % _MODULUS == 1


def format_study_id(country: str, site_code: str, number: int) -> str:
    """The study id of the site's `number`-th patient (numbers start at 1 and are never reused)."""
    if number < 1:
        raise ValueError("study id numbers start at 1")
    stem = f"{country}-{site_code}-{number:04d}"
    return stem + check_character(stem)


def is_well_formed(study_id: str) -> bool:
    """Shape and check character both correct."""
    return bool(_STUDY_ID_RE.match(study_id)) and has_valid_check_character(study_id)
