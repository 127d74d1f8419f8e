"""Normalising Vietnamese text as people type it: Unicode forms, tone marks, case."""

from __future__ import annotations

import re
import unicodedata

# Combining marks that carry a Vietnamese tone; the others (circumflex, breve, horn)
# change the vowel itself and stay with it.
TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")
_SPACES = re.compile(r"\s+")
_PUNCTUATION = re.compile(r"[.,;:/\\()\[\]\"'’‘“”_-]+")


def nfc(text: str) -> str:
    """The text in Unicode NFC, with runs of white space folded to one space."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", str(text))).strip()


def _tone_key_word(word: str) -> str:
    decomposed = unicodedata.normalize("NFD", word)
    tones = "".join(ch for ch in decomposed if ch in TONE_MARKS)
    bare = "".join(ch for ch in decomposed if ch not in TONE_MARKS)
    return unicodedata.normalize("NFC", bare) + tones


def tone_key(text: str) -> str:
    """A key equal for spellings that differ only in case, Unicode form or tone-mark placement.

    "Hoà" and "Hòa", "Thuỷ" and "Thủy" give the same key; "Ba" and "Bả" do not.
    """
    words = _SPACES.split(_PUNCTUATION.sub(" ", nfc(text).casefold()).strip())
    return " ".join(_tone_key_word(w) for w in words if w)


def ascii_key(text: str) -> str:
    """A key that also ignores every diacritic ("Đồng Hới" -> "dong hoi")."""
    decomposed = unicodedata.normalize("NFD", tone_key(text))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return bare.replace("đ", "d")


def without_diacritics(text: str) -> str:
    """The text in plain Latin letters, case kept ("Phù Lá" -> "Phu La", "Đan Lai" -> "Dan Lai")."""
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).replace("đ", "d").replace("Đ", "D")


def has_diacritics(text: str) -> bool:
    """Whether the text carries any Vietnamese diacritic or the letter đ."""
    return ascii_key(text) != tone_key(text)


def printable(text) -> str:
    """The text safe for a terminal or a log line: control and format characters
    (newlines, escape codes) written as escapes, so a file name cannot forge a line."""
    return "".join(
        ch if unicodedata.category(ch) not in ("Cc", "Cf") else ch.encode("unicode_escape").decode("ascii")
        for ch in str(text)
    )
