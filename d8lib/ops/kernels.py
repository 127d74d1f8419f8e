"""Warm kernels: a report worker keeps one Jupyter kernel and runs report after report
in it, so that a report pays for its own cells, not for a kernel's start and imports.

papermill executes each notebook as usual (parameters cell, the executed notebook as a
record, the failing cell's index) on the kept kernel, through the client connected to it
since its warm-up (``d8lib.ops.engine``): a new connection would wait for the kernel's
first messages, about 0.2 s per report. Before the report's first cell the kernel is made
fresh (``d8lib.ops.inkernel.fresh``), so a report never sees another's variables or figures.
A kernel starts without papermill imported (only its worker runs papermill).
A kernel is replaced after a failed report, when it died, and when it holds more than
``MEMORY_LIMIT`` bytes; the worker's kernels end with the worker.
"""

from __future__ import annotations

import atexit
import os
import threading
from multiprocessing import util
from pathlib import Path

from jupyter_client import KernelClient, KernelManager

MEMORY_LIMIT = 2 * 1024**3  # resident bytes past which a kernel is replaced after its report
WARM_UP = "__import__('d8lib.ops.inkernel', fromlist=['warm_up']).warm_up()"

_local = threading.local()  # one kernel per worker thread (a Dask worker may run several)
_started: dict[KernelManager, KernelClient] = {}  # each kernel this process started, with its client
_lock = threading.Lock()
_ending_in = 0  # the process whose exit ends its kernels (a forked worker registers anew)


def engine(name: str, folder: Path, timeout: float) -> dict:
    """papermill's engine arguments for a report that runs in ``folder`` on this worker's
    kernel, made fresh before the report's first cell."""
    from d8lib.ops.engine import ENGINE

    fresh = f"__import__('d8lib.ops.inkernel', fromlist=['fresh']).fresh({str(folder)!r})"
    manager = kernel(name, timeout)
    return {"engine_name": ENGINE, "km": manager, "kept_client": _started[manager], "prelude": fresh}


def kernel(name: str, timeout: float) -> KernelManager:
    """This worker's kernel, started, connected and warmed on first use."""
    manager = getattr(_local, "manager", None)
    if manager is None or not manager.is_alive():
        if manager is not None:
            _shutdown(manager)  # died: its client goes with it
        _end_with_process()
        manager = KernelManager(kernel_name=name)
        # No input history: kernels starting together would contend for IPython's one
        # history database and print its error into a report.
        manager.start_kernel(extra_arguments=["--HistoryManager.enabled=False"])
        client = manager.client()
        client.start_channels()
        with _lock:
            _started[manager] = client
        _local.manager = manager
        client.wait_for_ready(timeout=timeout)
        raise_unless_ok(
            client.execute_interactive(WARM_UP, store_history=False, timeout=timeout, output_hook=lambda _: None)
        )
    return manager


def after_report(ok: bool) -> None:
    """Keep this worker's kernel for the next report, or end it after a failure or when
    it grew past ``MEMORY_LIMIT``."""
    manager = getattr(_local, "manager", None)
    if manager is not None and (not ok or _resident_bytes(manager) > MEMORY_LIMIT):
        _local.manager = None
        _shutdown(manager)


def raise_unless_ok(reply: dict) -> None:
    content = reply["content"]
    if content["status"] != "ok":
        raise RuntimeError(f"{content.get('ename', 'Error')}: {content.get('evalue', '')}")


def _resident_bytes(manager: KernelManager) -> int:
    pid = getattr(manager.provisioner, "pid", None)
    try:
        with open(f"/proc/{pid}/statm") as stat:
            return int(stat.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0  # not Linux, or the kernel is gone: nothing to measure


def _shutdown(manager: KernelManager) -> None:
    with _lock:
        client = _started.pop(manager, None)
    if client is not None:
        client.stop_channels()
    try:
        if manager.is_alive():
            manager.shutdown_kernel(now=True)
    except Exception:  # noqa: BLE001 - a kernel that cannot be ended cleanly is already going
        pass


def shutdown_all() -> None:
    """End every kernel this process started."""
    for manager in list(_started):
        _shutdown(manager)


def _end_with_process() -> None:
    """End this process's kernels when it exits. A pool's worker exits without atexit,
    and multiprocessing drops the finalizers a forked worker inherits, so each process
    registers its own."""
    global _ending_in
    if _ending_in != os.getpid():
        util.Finalize(None, shutdown_all, exitpriority=10)
        _ending_in = os.getpid()


def _forget_parents_kernels() -> None:
    """A forked process owns none of its parent's kernels."""
    global _local
    _local = threading.local()
    _started.clear()


atexit.register(shutdown_all)
os.register_at_fork(after_in_child=_forget_parents_kernels)
