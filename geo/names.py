"""Vietnamese name normalisation, shared by boundaries, ingest and the UI.

Vietnamese names arrive in many spellings of the same thing: composed or decomposed
Unicode (Windows-1258 stores tone marks as combining characters), the older and newer
tone-mark placement ("Hoà" / "Hòa", "Thuỵ" / "Thụy"), any case, with or without the
"Phường"/"Xã" prefix, and with loose spacing around hyphens. Every comparison of names
in the project goes through :func:`name_key` (diacritics kept) or :func:`ascii_key`
(diacritics dropped, for column headers and free-text vocabularies).
"""

from __future__ import annotations

import re
import unicodedata

# Combining tone marks (thanh điệu). Vowel-quality marks (circumflex U+0302, breve U+0306,
# horn U+031B) are part of the letter and stay where they are.
_TONE_MARKS = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
_UNIT_PREFIXES = ("thị trấn", "phường", "xã", "ward", "commune")
_UNIT_SUFFIXES = ("ward", "commune")
_SPACE = re.compile(r"\s+")
_HYPHEN = re.compile(r"\s*[-‐‑‒–—]\s*")
_WORD = re.compile(r"\w+", re.UNICODE)


def nfc(text: str) -> str:
    """Compose to NFC, the one form all stored text uses.

    Parameters
    ----------
    text : str
        Any text.

    Returns
    -------
    str
        ``text`` in Unicode NFC.
    """
    return unicodedata.normalize("NFC", text)


def clean_spaces(text: str) -> str:
    """Collapse runs of whitespace and tighten spaces around hyphens.

    Parameters
    ----------
    text : str
        A name as typed.

    Returns
    -------
    str
        The text with single spaces, ``" - "`` as ``"-"``, and no outer whitespace.
    """
    return _HYPHEN.sub("-", _SPACE.sub(" ", text)).strip()


def _tone_independent(word: str) -> str:
    """Move the syllable's tone mark to its end, so "hoà" and "hòa" give the same key."""
    decomposed = unicodedata.normalize("NFD", word)
    tones = [ch for ch in decomposed if ch in _TONE_MARKS]
    base = "".join(ch for ch in decomposed if ch not in _TONE_MARKS)
    return unicodedata.normalize("NFC", base) + "".join(tones)


def strip_unit_prefix(text: str) -> str:
    """Drop a leading "Phường", "Xã", "Thị trấn" (or English "Ward"/"Commune" suffix).

    Parameters
    ----------
    text : str
        A unit name, e.g. ``"Phường Hoàn Kiếm"`` or ``"Hoan Kiem Ward"``.

    Returns
    -------
    str
        The name without the unit word (case-insensitive match), stripped.
    """
    lowered = text.lower()
    for prefix in _UNIT_PREFIXES:
        if lowered.startswith(prefix + " "):
            text = text[len(prefix) + 1 :]
            break
    lowered = text.lower()
    for suffix in _UNIT_SUFFIXES:
        if lowered.endswith(" " + suffix):
            text = text[: -len(suffix) - 1]
            break
    return text.strip()


def name_key(text: str | None) -> str:
    """Key under which two spellings of the same ward name compare equal.

    Keeps the diacritics (so "Hà Đông" and "Hải Đông" stay apart) but ignores Unicode
    form, tone-mark placement, case, the unit prefix and spacing around hyphens.

    Parameters
    ----------
    text : str or None
        A ward name as written.

    Returns
    -------
    str
        The comparison key ("" for None).
    """
    if text is None:
        return ""
    text = clean_spaces(nfc(str(text)))
    text = strip_unit_prefix(text)
    text = text.lower()
    return _WORD.sub(lambda m: _tone_independent(m.group(0)), text)


def ascii_key(text: str | None) -> str:
    """Lower-case ASCII key: diacritics dropped, "đ" to "d", separators to "_".

    For matching column headers and free-text vocabularies "regardless of diacritics".

    Parameters
    ----------
    text : str or None
        Any text.

    Returns
    -------
    str
        ``[a-z0-9_]`` only, no leading or trailing ``_`` ("" for None).
    """
    if text is None:
        return ""
    decomposed = unicodedata.normalize("NFD", str(text).lower().replace("đ", "d"))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]+", "_", stripped).strip("_")


def unit_kind(full_name: str) -> str:
    """"phuong" or "xa" from a full unit name such as "Phường Hoàn Kiếm".

    Parameters
    ----------
    full_name : str
        The unit's full name, with its "Phường"/"Xã" prefix.

    Returns
    -------
    str
        ``"xa"`` when the name starts with "Xã", otherwise ``"phuong"``.
    """
    return "xa" if ascii_key(full_name).startswith("xa_") else "phuong"
