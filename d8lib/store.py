"""The store of accepted submissions (SQLite) and the archive of raw files.

Every accepted file is archived as received under ``raw/<sha256><suffix>`` and never
overwritten. Each district and period a file reports becomes a submission; a later
submission for the same district and period supersedes the earlier one, which stays
in the history. One file is one transaction: it is stored whole or not at all.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import sqlite3
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

VALUE_COLUMNS = ["value", "numerator", "denominator", "people", "female", "male", "ethnic_minority"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    sha256 TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    archived_as TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS submissions (
    id INTEGER PRIMARY KEY,
    sha256 TEXT NOT NULL REFERENCES files(sha256),
    district TEXT NOT NULL,
    period TEXT NOT NULL,
    received_at TEXT NOT NULL,
    sent_on TEXT,
    superseded_by INTEGER REFERENCES submissions(id)
);
CREATE TABLE IF NOT EXISTS submitted_values (
    submission_id INTEGER NOT NULL REFERENCES submissions(id),
    indicator TEXT NOT NULL,
    commune TEXT,
    value REAL, numerator REAL, denominator REAL, people REAL, female REAL, male REAL, ethnic_minority REAL,
    note TEXT
);
CREATE TABLE IF NOT EXISTS warnings (
    sha256 TEXT NOT NULL REFERENCES files(sha256),
    sheet TEXT, row INTEGER, column_label TEXT, value TEXT, code TEXT, message_vi TEXT, message_en TEXT
);
"""


class Store:
    """Accepted submissions in ``<directory>/d8.sqlite`` and raw files in ``<directory>/raw``."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self.raw = self.directory / "raw"
        self.raw.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / "d8.sqlite"
        with self._connect() as connection:
            connection.executescript(SCHEMA)

    @contextmanager
    def _connect(self):
        connection = sqlite3.connect(self.path, isolation_level=None)
        try:
            yield connection
        finally:
            connection.close()

    def has_file(self, sha256: str) -> bool:
        """Whether a file with this content was accepted before."""
        with self._connect() as connection:
            return connection.execute("SELECT 1 FROM files WHERE sha256 = ?", (sha256,)).fetchone() is not None

    def archive(self, source: Path, sha256: str) -> Path:
        """Copy a raw file into the archive under its hash, unless it is there already."""
        target = self.raw / f"{sha256}{source.suffix.lower()}"
        if not target.exists():
            with tempfile.NamedTemporaryFile(dir=self.raw, delete=False) as temporary:
                with open(source, "rb") as original:
                    shutil.copyfileobj(original, temporary)
            os.replace(temporary.name, target)
        return target

    def accept(self, source: Path, sha256: str, rows: pd.DataFrame, sent_on: dt.date | None,
               warnings: list, received_at: dt.datetime | None = None) -> list[int]:
        """Store one file's rows (columns district, period, indicator, commune, the value
        columns and note) as submissions, in one transaction. Returns their ids."""
        received = (received_at or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds")
        archived = self.archive(source, sha256)
        with self._connect() as connection:
            try:
                connection.execute("BEGIN IMMEDIATE")
                connection.execute("INSERT INTO files VALUES (?, ?, ?, ?)",
                                   (sha256, source.name, archived.name, received))
                ids = []
                for (district, period), group in rows.groupby(["district", "period"], sort=True):
                    cursor = connection.execute(
                        "INSERT INTO submissions (sha256, district, period, received_at, sent_on) VALUES (?, ?, ?, ?, ?)",
                        (sha256, district, period, received, sent_on.isoformat() if sent_on else None))
                    new_id = cursor.lastrowid
                    connection.execute(
                        "UPDATE submissions SET superseded_by = ? WHERE district = ? AND period = ? AND id != ? "
                        "AND superseded_by IS NULL", (new_id, district, period, new_id))
                    connection.executemany(
                        "INSERT INTO submitted_values VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [(new_id, r.indicator, r.commune, *[_number(getattr(r, c)) for c in VALUE_COLUMNS], r.note)
                         for r in group.itertuples()])
                    ids.append(new_id)
                connection.executemany(
                    "INSERT INTO warnings VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [(sha256, w.sheet, w.row, w.column, w.value, w.code, w.message_vi, w.message_en) for w in warnings])
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
        return ids

    def _query(self, sql: str, params: tuple = ()) -> pd.DataFrame:
        with self._connect() as connection:
            return pd.read_sql_query(sql, connection, params=params)

    def submissions(self) -> pd.DataFrame:
        """Every accepted submission, superseded ones included, oldest first."""
        return self._query("SELECT s.*, f.name AS file FROM submissions s JOIN files f USING (sha256) ORDER BY s.id")

    def values(self, current_only: bool = True) -> pd.DataFrame:
        """Submitted values with their district, period and submission; by default only
        those of submissions that no later one superseded."""
        where = "WHERE s.superseded_by IS NULL" if current_only else ""
        return self._query(
            "SELECT s.district, s.period, v.*, s.sent_on, s.received_at FROM submitted_values v "
            f"JOIN submissions s ON s.id = v.submission_id {where} ORDER BY s.id")

    def warnings(self) -> pd.DataFrame:
        """Warnings raised when accepted files came in."""
        return self._query("SELECT f.name AS file, w.* FROM warnings w JOIN files f USING (sha256)")


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file's bytes, as hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _number(value) -> float | None:
    number = pd.to_numeric(value, errors="coerce")
    return None if pd.isna(number) else float(number)
