"""Taking files in: each file read (``reading``), checked (``checking``) and stored
with the store's own transaction, or rejected whole, changing nothing; whatever goes
wrong with one file (the disk, the store, d8 itself) is that file's rejection. A damaged
store is rebuilt from its raw archive.
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import shutil
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from d8lib.intake.checking import check
from d8lib.intake.reading import read_submission
from d8lib.intake.store import JOURNAL, Store, StoreError
from d8lib.intake.validation import Problem
from d8lib.plan.model import Plan
from d8lib.units.registry import Units


@dataclass
class IntakeResult:
    """The outcome for one file: ``status`` is accepted, rejected or unchanged."""

    path: Path
    status: str
    problems: list[Problem]
    submission_ids: list[int] = field(default_factory=list)

    @property
    def d8_failed(self) -> bool:
        """Rejected because of the store, the disk or d8 itself, not the file."""
        return any(p.code in D8_FAILURES for p in self.problems)


# Rejections that are d8's failure, not the file's: the store, the disk or d8 itself.
D8_FAILURES = ("store_damaged", "disk_full", "storage_failed", "internal_error")


def _failure(path: Path, exc: BaseException) -> Problem:
    """A failure while taking in one file, as a rejection of that file."""
    disk_full = (
        isinstance(exc, OSError)
        and exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)
        or isinstance(exc, sqlite3.OperationalError)
        and "full" in str(exc)
    )
    if isinstance(exc, StoreError):
        code, vi, en = "store_damaged", exc.message_vi, exc.message_en
    elif disk_full:
        code, vi, en = (
            "disk_full",
            f"Ổ đĩa đầy, không lưu được tệp ({exc})",
            f"The disk is full; the file could not be stored ({exc})",
        )
    elif isinstance(exc, (OSError, sqlite3.Error)):
        code, vi, en = (
            "storage_failed",
            f"Không lưu được tệp ({type(exc).__name__}: {exc})",
            f"The file could not be stored ({type(exc).__name__}: {exc})",
        )
    else:
        code, vi, en = (
            "internal_error",
            f"Lỗi của d8 khi đọc tệp ({type(exc).__name__}: {exc}); hãy báo cho nhóm kỹ thuật",
            f"d8 failed on this file ({type(exc).__name__}: {exc}); please tell the technical team",
        )
    return Problem(path.name, "", None, "", "", code, "error", vi, en)


def _take_in(path: Path, store: Store, plan: Plan, units: Units, sent_on: dt.date | None) -> IntakeResult:
    submission = read_submission(path)
    if submission.sha256 and store.has_file(submission.sha256):
        return IntakeResult(path, "unchanged", [])
    check(submission, plan, units, store.values())
    if submission.errors:
        return IntakeResult(path, "rejected", submission.problems)
    ids = store.accept(
        path, submission.sha256, submission.reported_rows, submission.sent_on or sent_on, submission.warnings
    )
    if ids is None:  # a concurrent intake stored the same file first
        return IntakeResult(path, "unchanged", [])
    older = [
        Problem(
            path.name,
            "",
            None,
            "",
            f"{r.district} {r.period}",
            "older_than_stored",
            "warning",
            f"Tệp gửi ngày {r.sent_on or '?'} cũ hơn tệp đang dùng (gửi ngày {r.standing_sent_on or '?'}): "
            "đã lưu vào lịch sử, số liệu đang dùng không đổi",
            f"This file, sent {r.sent_on or '?'}, is older than the one in use (sent {r.standing_sent_on or '?'}): "
            "kept in the history, the figures in use are unchanged",
        )  # fmt: skip
        for r in store.kept_as_history(ids).itertuples()
    ]
    return IntakeResult(path, "accepted", submission.problems + older, ids)


def intake(
    paths: list[str | Path], store: Store, plan: Plan, units: Units, sent_on: dt.date | None = None
) -> list[IntakeResult]:
    """Validate each file and store those without errors, one transaction per file.
    Whatever goes wrong with one file (the disk, the store, d8 itself) is that file's
    rejection, and the next file is taken in."""
    results = []
    for path in map(Path, paths):
        try:
            results.append(_take_in(path, store, plan, units, sent_on))
        except Exception as exc:  # noqa: BLE001 - reported as this file's rejection; the batch goes on
            results.append(IntakeResult(path, "rejected", [_failure(path, exc)]))
    return results


def rebuild(store_dir: str | Path, plan: Plan, units: Units) -> tuple[Path, list[IntakeResult]]:
    """Rebuild a damaged store from its raw archive: every file of ``received.jsonl``
    taken in again, in the order it first came, under the rules of today. The damaged
    database is kept beside the new one as ``d8.sqlite.damaged-<time>``; returns its
    path and the outcome for each file."""
    damaged = Store(store_dir)
    entries = damaged.journal()
    if not entries:
        raise StoreError(
            f"Không có tệp gốc nào để dựng lại kho {damaged.directory} ({JOURNAL} trống hoặc thiếu)",
            f"No raw file to rebuild the store {damaged.directory} from ({JOURNAL} empty or missing)",
        )
    staging = damaged.directory / f".rebuild-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    fresh = Store(staging)
    fresh.raw = damaged.raw  # the archive is shared, never copied
    results = []
    for entry in entries:
        raw = damaged.raw / entry["archived_as"]
        submission = read_submission(raw)
        check(submission, plan, units, fresh.values())
        if submission.errors:
            results.append(IntakeResult(Path(entry["name"]), "rejected", submission.problems))
            continue
        sent_on = dt.date.fromisoformat(entry["sent_on"]) if entry["sent_on"] else None
        ids = fresh.accept(
            raw,
            submission.sha256,
            submission.reported_rows,
            sent_on,
            submission.warnings,
            received_at=entry["received_at"],
            name=entry["name"],
        )
        results.append(IntakeResult(Path(entry["name"]), "accepted", submission.problems, ids or []))
    if not fresh.path.exists():
        shutil.rmtree(staging)
        raise StoreError(
            f"Không tệp gốc nào được nhận lại; kho {damaged.directory} giữ nguyên",
            f"No raw file was accepted again; the store {damaged.directory} is left as it was",
        )
    kept = damaged.path.with_name(f"{damaged.path.name}.damaged-{dt.datetime.now():%Y%m%d-%H%M%S}")
    if damaged.path.exists():
        os.replace(damaged.path, kept)
    os.replace(fresh.path, damaged.path)
    os.replace(staging / JOURNAL, damaged.directory / JOURNAL)
    shutil.rmtree(staging)
    return kept, results
