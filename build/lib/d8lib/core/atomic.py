"""Files written whole or not at all: a reader, or the next run after a full disk,
never finds half a file, an empty page or a ``.partial`` left behind."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def write_whole(path: Path, write: Callable[[Path], object]) -> Path:
    """Write ``path`` through ``write(partial)`` beside it, then put it in place in one
    step; on any failure nothing is left, the partial file included."""
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    try:
        write(partial)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return path


def write_text(path: Path, text: str) -> Path:
    """``write_whole`` of a UTF-8 text."""
    return write_whole(path, lambda p: p.write_text(text, encoding="utf-8"))
