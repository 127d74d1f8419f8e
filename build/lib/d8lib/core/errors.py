"""Errors whose message a reader sees, carried in Vietnamese and English."""

from __future__ import annotations


class Bilingual(Exception):
    """An error with ``message_vi`` and ``message_en``; ``str()`` gives both."""

    def __init__(self, message_vi: str, message_en: str):
        super().__init__(f"{message_vi} / {message_en}")
        self.message_vi, self.message_en = message_vi, message_en


class InputError(Bilingual, ValueError):
    """What a command was given cannot be used (a folder, a unit, an inbox entry, a
    review); raised before anything is written."""
