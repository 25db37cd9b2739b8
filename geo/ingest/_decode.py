"""Text files in the encodings field teams' computers write: UTF-8 (with or without a
BOM), UTF-16/32, and the Windows code pages 1258 (Vietnamese) and 1252 (Western).

Every text is normalised to NFC, so "ệ" written precomposed or as e + two combining
marks compares equal everywhere after this point.
"""

from __future__ import annotations

import unicodedata

import numpy as np

# Toned Vietnamese vowels that no Western code page has: after a cp1258 decode they can only
# come from a base letter plus a combining tone mark composed by NFC. (ă, đ, ơ, ư are left
# out: their cp1258 bytes are ã, ð, õ, ý in cp1252, common in Western text.)
_VIET_ONLY = set(
    "ạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịĩọỏốồổỗộớờởỡợụủũứừửữựỳỵỷỹ"
    "ẠẢẤẦẨẪẬẮẰẲẴẶẸẺẼẾỀỂỄỆỈỊĨỌỎỐỒỔỖỘỚỜỞỠỢỤỦŨỨỪỬỮỰỲỴỶỸ"
)


def _nul_pattern_utf16(data: bytes) -> str | None:
    """UTF-16 without a BOM: every other byte is NUL in ASCII-heavy text."""
    sample = data[:4000]
    if len(sample) < 4:
        return None
    even_nul = sample[0::2].count(0) / max(1, len(sample[0::2]))
    odd_nul = sample[1::2].count(0) / max(1, len(sample[1::2]))
    if odd_nul > 0.4 and even_nul < 0.05:
        return "utf-16-le"
    if even_nul > 0.4 and odd_nul < 0.05:
        return "utf-16-be"
    return None


def _vietnamese_score(text: str) -> int:
    """Vietnamese-only letters minus stray combining marks (the sign of a wrong guess)."""
    viet = sum(1 for ch in text if ch in _VIET_ONLY)
    stray = sum(1 for ch in text if unicodedata.combining(ch))
    return viet - 2 * stray


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Decode a text file.

    Parameters
    ----------
    data : bytes
        The file.

    Returns
    -------
    tuple of str
        (the text in NFC, the encoding it was read in).
    """
    text, encoding, _ = decode_text(data)
    return text, encoding


def decode_text(data: bytes) -> tuple[str, str, bool]:
    """:func:`decode_bytes` plus whether the text is exactly ``data`` read as UTF-8 (then
    the bytes can go to pyarrow as they are, without encoding the text again).

    Order: a BOM decides; then strict UTF-8 (which random legacy bytes almost never pass);
    then a choice between Windows-1258 and Windows-1252 by which one gives Vietnamese
    letters and no stray combining marks.

    Parameters
    ----------
    data : bytes
        The file.

    Returns
    -------
    tuple
        (the text in NFC, the encoding, whether the text is ``data`` as UTF-8 exactly).
    """
    if data.startswith(b"\xef\xbb\xbf"):
        text, encoding = data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    elif data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        text, encoding = data.decode("utf-32", errors="replace"), "utf-32"
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text, encoding = data.decode("utf-16", errors="replace"), "utf-16"
    elif (guess := _nul_pattern_utf16(data)) is not None:
        text, encoding = data.decode(guess, errors="replace"), guess
    else:
        try:
            text, encoding = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            text, encoding = _decode_legacy(data)
    decoded = text
    text = unicodedata.normalize("NFC", text.replace("\x00", ""))
    # CPython returns the very same object when neither step changes anything
    return text, encoding, encoding == "utf-8" and text is decoded


def _decode_legacy(data: bytes) -> tuple[str, str]:
    candidates: list[tuple[int, int, str, str]] = []
    for encoding in ("cp1258", "cp1252"):
        try:
            text = data.decode(encoding)
            failures = 0
        except UnicodeDecodeError:
            text = data.decode(encoding, errors="replace")
            failures = text.count("\ufffd")
        if encoding == "cp1258":
            score = _vietnamese_score(unicodedata.normalize("NFC", text))
            # cp1258 must earn its place: a positive Vietnamese score.
            merit = score if score > 0 else -1
        else:
            merit = 0
        candidates.append((failures, -merit, encoding, text))
    failures, _, encoding, text = min(candidates, key=lambda c: (c[0], c[1]))
    if failures:
        try:  # last resort that never fails: the charset detector's best guess
            from charset_normalizer import from_bytes

            best = from_bytes(data).best()
            if best is not None and best.encoding:
                return str(best), str(best.encoding)
        except Exception:  # the detector is a helper, not a requirement
            pass
    return text, encoding


#: How much of a file :func:`plain_utf8_head` decodes: enough for the header and the
#: delimiter sniffing (their helpers look at the first 64 KiB first).
HEAD_BYTES = 1 << 20
#: :func:`plain_nfc` scans the bytes in pieces of this size (no file-sized temporaries).
_SCAN_PIECE = 1 << 22


def plain_nfc(data: bytes) -> bool:
    """Whether UTF-8 ``data`` is NFC because of the characters it holds, without decoding it.

    True when every character is below U+0300 (ASCII, Latin-1, Latin Extended-A/B, IPA,
    spacing modifier letters) or in U+1E00–U+1EFF (Latin Extended Additional: the
    precomposed Vietnamese letters). None of these is a combining mark, none is changed by
    NFC, and none composes with a character before it, so a text made only of them is NFC
    in any order (tests/ingest/test_ingest_parsing.py checks this against the Unicode
    database). In bytes: no lead byte from 0xCC up except 0xE1 followed by 0xB8–0xBB.
    False says only "not shown": such a file is decoded and normalised as before.

    Parameters
    ----------
    data : bytes
        Valid UTF-8.

    Returns
    -------
    bool
        The text is NFC as it is.
    """
    octets = np.frombuffer(data, dtype=np.uint8)
    for start in range(0, len(octets), _SCAN_PIECE):
        high = np.flatnonzero(octets[start : start + _SCAN_PIECE] >= 0xCC) + start
        if not len(high):
            continue
        if (octets[high] != 0xE1).any() or high[-1] + 1 >= len(octets):
            return False
        second = octets[high + 1]
        if ((second < 0xB8) | (second > 0xBB)).any():
            return False
    return True


def plain_utf8_head(data: bytes) -> str | None:
    """The first :data:`HEAD_BYTES` of ``data`` as text (cut at a character's end) when
    :func:`decode_text` would return ``data`` read as UTF-8 unchanged, else None.

    That is: no byte order mark, no NUL (so no UTF-16 guess and nothing removed), valid
    UTF-8 (checked by pyarrow, without a Python string of the whole file), and NFC as it
    is (:func:`plain_nfc`). Then the CSV reader parses the bytes as they are and only
    looks at the head as text: a 200 MB file is not held as a 400 MB string, and its
    decoding and normalisation (about 0.5 s of CPU at a million rows, measured) are not done.
    A file no longer than the head is decoded whole (None), as are all others.

    Parameters
    ----------
    data : bytes
        The file.

    Returns
    -------
    str or None
        The head, or None: decode with :func:`decode_text`.
    """
    if len(data) <= HEAD_BYTES or data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        return None
    if data.startswith(b"\x00\x00\xfe\xff") or b"\x00" in data:
        return None
    import pyarrow as pa

    whole = pa.py_buffer(data)
    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int64).tobytes())
    try:  # a cast to text checks the bytes are UTF-8 (one value: the whole file)
        pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, whole]).cast(pa.large_string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if not plain_nfc(data):
        return None
    end = HEAD_BYTES
    while data[end] & 0xC0 == 0x80:  # a continuation byte: the character began earlier
        end -= 1
    return data[:end].decode("utf-8")
