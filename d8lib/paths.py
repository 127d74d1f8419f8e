"""Where the project's shipped data live."""
from __future__ import annotations

import os
from pathlib import Path

# The repository's data/ folder; D8_DATA points elsewhere (another province, a test).
DATA_DIR = Path(os.environ.get("D8_DATA", Path(__file__).resolve().parents[1] / "data"))
