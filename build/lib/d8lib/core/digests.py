"""SHA-256 fingerprints: of a file's bytes, of a value, and of d8's own code, so that
what was computed by other code is never taken for what this code computes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from d8lib.core.paths import DATA_DIR, PACKAGE_DIR, default_standard_path


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file's bytes, as hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def digest(value) -> str:
    """The SHA-256 of a value written as sorted JSON."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def code_fingerprint(versions: dict) -> str:
    """d8lib's source and report template, the labels and presentation standard readers
    see, and the package versions: what turns the same inputs into other results."""
    files = sorted(PACKAGE_DIR.rglob("*.py")) + sorted((PACKAGE_DIR / "reports" / "templates").rglob("*"))
    files += [DATA_DIR / "labels.yaml", DATA_DIR / "config.yaml", default_standard_path()]
    return digest(
        {
            "files": {
                str(f.relative_to(PACKAGE_DIR) if f.is_relative_to(PACKAGE_DIR) else f.name): sha256_file(f)
                for f in files
                if f.is_file()
            },
            "versions": versions,
        }
    )
