"""The store of accepted submissions (SQLite) and the archive of raw files.

Every accepted file is archived as received under ``raw/<sha256><suffix>`` and never
overwritten, and listed in ``received.jsonl`` in the order files came, so that a
damaged store can be rebuilt from the archive (``d8lib.intake.submissions.rebuild``). Each
district and period a file reports becomes a submission; a later submission for the
same district and period supersedes the earlier one, which stays in the history. One
file is one transaction: it is stored whole or not at all.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from d8lib.core.errors import Bilingual
from d8lib.plan.model import NUMBERS

JOURNAL = "received.jsonl"

# The schema's version is kept in the database (PRAGMA user_version). A store of an
# earlier version is brought up to this one by the steps after its version, in order.
SCHEMA_VERSION = 2
MIGRATIONS = {
    2: "ALTER TABLE submitted_values ADD COLUMN done_on TEXT",  # the day a milestone was done
}
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
    note TEXT,
    done_on TEXT
);
CREATE TABLE IF NOT EXISTS warnings (
    sha256 TEXT NOT NULL REFERENCES files(sha256),
    sheet TEXT, row INTEGER, column_label TEXT, value TEXT, code TEXT, message_vi TEXT, message_en TEXT
);
"""


class StoreError(Bilingual, RuntimeError):
    """The store cannot be read: damaged, or not a d8 store."""


class Store:
    """Accepted submissions in ``<directory>/d8.sqlite`` and raw files in ``<directory>/raw``.

    Nothing is created on disk until a file is accepted; a store that does not exist
    yet reads as empty."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self.raw = self.directory / "raw"
        self.path = self.directory / "d8.sqlite"

    @contextmanager
    def _connect(self, create: bool = False):
        empty = not self.path.exists() and not create
        if empty:
            connection = sqlite3.connect(":memory:", isolation_level=None)  # an empty store, with the schema
        else:
            self.directory.mkdir(parents=True, exist_ok=True)
            self.raw.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, isolation_level=None, timeout=60)
        try:
            _upgrade(connection, create or empty, self.path)
            yield connection
        except sqlite3.DatabaseError as exc:
            if type(exc) is not sqlite3.DatabaseError:  # its subclasses: full disk, busy, constraints
                raise
            rebuild = f"d8 store rebuild --store {self.directory}"
            raise StoreError(
                f"Kho số liệu {self.path} bị hỏng hoặc không đọc được ({exc}); dựng lại từ các tệp gốc "
                f"đã lưu bằng lệnh «{rebuild}»",
                f"The store {self.path} is damaged or unreadable ({exc}); rebuild it from its archive "
                f"of raw files with '{rebuild}'",
            ) from exc
        finally:
            connection.close()

    def intact(self) -> bool:
        """Whether the database passes SQLite's own check (a store not yet written does)."""
        if not self.path.exists():
            return True
        try:
            with self._connect() as connection:
                return connection.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        except (StoreError, sqlite3.DatabaseError):
            return False

    def has_file(self, sha256: str) -> bool:
        """Whether a file with this content was accepted before."""
        with self._connect() as connection:
            return connection.execute("SELECT 1 FROM files WHERE sha256 = ?", (sha256,)).fetchone() is not None

    def accept(
        self,
        source: Path,
        sha256: str,
        rows: pd.DataFrame,
        sent_on: dt.date | None,
        warnings: list,
        received_at: str | None = None,
        name: str | None = None,
    ) -> list[int] | None:
        """Store one file's rows (columns district, period, indicator, commune, the value
        columns and note) as submissions, and its raw copy, all or nothing. Returns their
        ids, or None when the same file was stored meanwhile (by a concurrent intake).
        ``received_at`` (ISO time) and ``name`` default to now and the source's name."""
        received = received_at or dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        name = name or source.name
        archived = self.raw / f"{sha256}{Path(name).suffix.lower()}"
        with self._connect(create=True) as connection:
            connection.execute("BEGIN IMMEDIATE")
            placed = None
            try:
                if connection.execute("SELECT 1 FROM files WHERE sha256 = ?", (sha256,)).fetchone():
                    connection.execute("ROLLBACK")
                    return None
                connection.execute("INSERT INTO files VALUES (?, ?, ?, ?)", (sha256, name, archived.name, received))
                ids = []
                for (district, period), group in rows.groupby(["district", "period"], sort=True):
                    cursor = connection.execute(
                        "INSERT INTO submissions (sha256, district, period, received_at, sent_on) VALUES (?, ?, ?, ?, ?)",
                        (sha256, district, period, received, sent_on.isoformat() if sent_on else None),
                    )
                    new_id = cursor.lastrowid
                    _supersede(connection, new_id, district, period, sent_on, received)
                    connection.executemany(
                        "INSERT INTO submitted_values VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [
                            (
                                new_id,
                                r.indicator,
                                r.commune,
                                *[_number(getattr(r, c)) for c in NUMBERS],
                                r.note,
                                _iso(getattr(r, "done_on", None)),
                            )
                            for r in group.itertuples()
                        ],
                    )
                    ids.append(new_id)
                connection.executemany(
                    "INSERT INTO warnings VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [(sha256, w.sheet, w.row, w.column, w.value, w.code, w.message_vi, w.message_en) for w in warnings],
                )
                placed = _archive(source, archived)
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                if placed:
                    placed.unlink(missing_ok=True)
                raise
            self._journal(connection)
        return ids

    def _journal(self, connection) -> None:
        """Bring ``received.jsonl`` up to the store after a commit: every accepted file in
        the order it came, which with the raw archive is enough to rebuild the store
        (``rebuild``). Written after the commit, so that it never names a file the store
        does not hold; a line a crash kept from being written is added by the next intake."""
        listed = {e.get("sha256") for e in _journal_lines(self.directory / JOURNAL)}
        files = connection.execute(
            "SELECT f.sha256, f.name, f.archived_as, f.received_at, MIN(s.sent_on) FROM files f "
            "LEFT JOIN submissions s ON s.sha256 = f.sha256 GROUP BY f.sha256 ORDER BY f.rowid"
        ).fetchall()
        missing = [f for f in files if f[0] not in listed]
        if not missing:
            return
        with open(self.directory / JOURNAL, "a", encoding="utf-8") as journal:
            for sha256, name, archived_as, received_at, sent_on in missing:
                entry = {"sha256": sha256, "name": name, "archived_as": archived_as}
                entry.update(received_at=received_at, sent_on=sent_on)
                journal.write(json.dumps(entry, ensure_ascii=False) + "\n")
            journal.flush()
            os.fsync(journal.fileno())

    def journal(self) -> list[dict]:
        """The accepted files in the order they came, with their raw copies; a line left
        unfinished by a crash, or naming a raw copy that is not there, is skipped."""
        entries = []
        for entry in _journal_lines(self.directory / JOURNAL):
            if (self.raw / entry["archived_as"]).is_file() and entry["sha256"] not in {e["sha256"] for e in entries}:
                entries.append(entry)
        return entries

    def _query(self, sql: str, params: tuple = ()) -> pd.DataFrame:
        with self._connect() as connection:
            cursor = connection.execute(sql, params)
            return pd.DataFrame(cursor.fetchall(), columns=[d[0] for d in cursor.description])

    def kept_as_history(self, ids: list[int]) -> pd.DataFrame:
        """Those of these submissions that an earlier-received but later-sent one supersedes."""
        marks = ",".join("?" * len(ids)) or "NULL"
        return self._query(
            f"SELECT s.district, s.period, s.sent_on, t.sent_on AS standing_sent_on FROM submissions s "
            f"JOIN submissions t ON t.id = s.superseded_by WHERE s.id IN ({marks})",
            tuple(ids),
        )

    def submissions(self) -> pd.DataFrame:
        """Every accepted submission, superseded ones included, oldest first."""
        return self._query("SELECT s.*, f.name AS file FROM submissions s JOIN files f USING (sha256) ORDER BY s.id")

    def values(self, current_only: bool = True) -> pd.DataFrame:
        """Submitted values with their district, period and submission; by default only
        those of submissions that no later one superseded."""
        where = "WHERE s.superseded_by IS NULL" if current_only else ""
        return self._query(
            "SELECT s.district, s.period, v.*, s.sent_on, s.received_at FROM submitted_values v "
            f"JOIN submissions s ON s.id = v.submission_id {where} ORDER BY s.id"
        )

    def warnings(self) -> pd.DataFrame:
        """Warnings raised when accepted files came in, with the district (or other unit) and
        period of their file (one row for each the file reports)."""
        return self._query(
            "SELECT f.name AS file, w.*, s.district, s.period FROM warnings w JOIN files f USING (sha256) "
            "LEFT JOIN (SELECT DISTINCT sha256, district, period FROM submissions) s USING (sha256) ORDER BY w.rowid"
        )


def _supersede(connection, new_id: int, district: str, period: str, sent_on, received: str) -> None:
    """The newer of a district's submissions for a period stands: the one sent later
    (the date sent, else the day received), then the one received later. A file sent
    before the one that stands goes into the history, superseded by it."""
    standing = connection.execute(
        "SELECT id, COALESCE(sent_on, substr(received_at, 1, 10)) FROM submissions "
        "WHERE district = ? AND period = ? AND id != ? AND superseded_by IS NULL",
        (district, period, new_id),
    ).fetchone()
    sent = sent_on.isoformat() if sent_on else received[:10]
    if standing and sent < standing[1]:
        connection.execute("UPDATE submissions SET superseded_by = ? WHERE id = ?", (standing[0], new_id))
        return
    connection.execute(
        "UPDATE submissions SET superseded_by = ? WHERE district = ? AND period = ? AND id != ? AND superseded_by IS NULL",
        (new_id, district, period, new_id),
    )


def _archive(source: Path, target: Path) -> Path | None:
    """Copy a raw file into place under its hash; returns the path if this call put it
    there (None if an identical copy was there already). A failed copy leaves nothing."""
    if target.exists():
        return None
    with tempfile.NamedTemporaryFile(dir=target.parent, prefix=".incoming-", delete=False) as temporary:
        try:
            with open(source, "rb") as original:
                shutil.copyfileobj(original, temporary)
            temporary.flush()
            os.fsync(temporary.fileno())
        except BaseException:
            temporary.close()
            os.unlink(temporary.name)
            raise
    os.replace(temporary.name, target)
    return target


def _journal_lines(path: Path) -> list[dict]:
    """The entries of a journal, leaving out a line a crash left unfinished."""
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines() if path.exists() else []:
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(entry, dict) and {"sha256", "archived_as"} <= entry.keys():
            entries.append(entry)
    return entries


def _upgrade(connection, create: bool, path: Path) -> None:
    """Give a new store the schema, and bring one of an earlier version up to this one
    (``MIGRATIONS``, in order, in one transaction). A store without a version was
    written before versions were kept: version 1, or 2 if it has ``done_on``."""
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    if version == SCHEMA_VERSION:
        return
    connection.execute("BEGIN IMMEDIATE")
    try:
        version = connection.execute("PRAGMA user_version").fetchone()[0]  # another process may have done it
        tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not tables and create:
            for statement in SCHEMA.split(";"):
                connection.execute(statement)
            version = SCHEMA_VERSION
        elif tables and version == 0:
            columns = {r[1] for r in connection.execute("PRAGMA table_info(submitted_values)")}
            version = 2 if "done_on" in columns else 1
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"Kho số liệu {path} do một phiên bản d8 mới hơn ghi (lược đồ {version}, bản này đọc đến "
                f"{SCHEMA_VERSION}); hãy cập nhật d8",
                f"The store {path} was written by a newer d8 (schema {version}; this one reads up to "
                f"{SCHEMA_VERSION}); update d8",
            )
        if tables or create:
            for step in range(version + 1, SCHEMA_VERSION + 1):
                connection.execute(MIGRATIONS[step])
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise


def _iso(value) -> str | None:
    """A date as ISO text (the day a milestone was done), else None."""
    return value.isoformat() if isinstance(value, dt.date) else None


def _number(value) -> float | None:
    number = pd.to_numeric(value, errors="coerce")
    return None if pd.isna(number) else float(number)
