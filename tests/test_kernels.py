"""Warm kernels: many reports on one kernel, each as if on a new one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from d8lib.ops import runner, worker

PARAMETERS = new_code_cell('unit = ""\nfolder = ""', metadata={"tags": ["parameters"]})


def notebook(path, *sources):
    book = new_notebook(
        cells=[PARAMETERS, *(new_code_cell(s) for s in sources)],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    )
    nbformat.write(book, path)
    return str(path)


def jobs(tmp_path, plan):
    """``plan``: (unit, notebook) in order; every report writes its kernel's process id."""
    (tmp_path / "notebooks").mkdir()
    return [
        worker.Job(unit, unit, unit, book, {"unit": unit, "folder": str(tmp_path)}, str(tmp_path), "vi")
        for unit, book in plan
    ]


def pids(tmp_path, units):
    return [(tmp_path / f"{u}.pid").read_text() for u in units]


RECORD = "import os\nopen(f'{folder}/{unit}.pid', 'w').write(str(os.getpid()))"


def test_a_report_sees_nothing_of_the_report_before_it_on_the_same_kernel(tmp_path):
    messy = notebook(
        tmp_path / "messy.ipynb",
        RECORD,
        "secret = 42\nimport matplotlib\nimport matplotlib.pyplot as plt\n"
        "matplotlib.rcParams['font.size'] = 31\nplt.figure()\n"
        "import shutil\nos.makedirs('gone')\nos.chdir('gone')\nshutil.rmtree(os.getcwd())",  # a cwd that no longer is
    )
    clean = notebook(
        tmp_path / "clean.ipynb",
        RECORD,
        "import matplotlib\nimport matplotlib.pyplot as plt\n"
        "assert 'secret' not in globals()\n"
        "assert plt.get_fignums() == [], plt.get_fignums()\n"
        "assert matplotlib.rcParams['font.size'] == 11, matplotlib.rcParams['font.size']\n"  # as charts set it
        f"assert os.getcwd() == {str(tmp_path)!r}, os.getcwd()",
    )
    work = jobs(tmp_path, [("a", messy), ("b", clean)])
    outcomes = runner._execute_all(work, 1, progress=False)
    assert [o.status for o in outcomes] == ["ok", "ok"], [o.error for o in outcomes]
    assert len(set(pids(tmp_path, "ab"))) == 1  # the same kernel ran both
    executed = nbformat.read(tmp_path / "notebooks" / "b.ipynb", as_version=4)
    assert [c.execution_count for c in executed.cells] == [1, 2, 3, 4]  # counts from 1, as on a new kernel


def test_a_failed_report_leaves_its_kernel_behind_and_the_next_gets_a_new_one(tmp_path):
    good = notebook(tmp_path / "good.ipynb", RECORD)
    bad = notebook(tmp_path / "bad.ipynb", RECORD, "raise ValueError('made to fail')")
    work = jobs(tmp_path, [("a", good), ("b", good), ("c", bad), ("d", good)])
    outcomes = runner._execute_all(work, 1, progress=False)
    assert [o.status for o in outcomes] == ["ok", "ok", "failed", "ok"]
    assert outcomes[2].failed_cell == 3 and "made to fail" in outcomes[2].error  # papermill's cell index
    a, b, c, d = pids(tmp_path, "abcd")
    assert a == b == c != d


def test_a_kernel_that_grew_past_the_memory_limit_is_replaced(tmp_path, monkeypatch):
    from d8lib.ops import kernels

    first = kernels.kernel(worker.KERNEL, 120)
    kernels.after_report(ok=True)
    assert kernels.kernel(worker.KERNEL, 120) is first  # kept while small
    monkeypatch.setattr(kernels, "MEMORY_LIMIT", 1024)
    kernels.after_report(ok=True)
    assert not first.is_alive()
    second = kernels.kernel(worker.KERNEL, 120)
    assert second is not first and second.is_alive()
    kernels.shutdown_all()
    assert not second.is_alive()


def alive(pid: int) -> bool:
    """A process that runs (an exited kernel may linger as a zombie where nothing reaps it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def test_a_workers_kernels_end_with_the_run_and_leave_the_parents_alone(tmp_path):
    from d8lib.ops import kernels

    parents = kernels.kernel(worker.KERNEL, 120)  # a kernel of the run's own process
    try:
        good = notebook(tmp_path / "good.ipynb", RECORD)
        outcomes = runner._execute_all(jobs(tmp_path, [("a", good), ("b", good)]), 2, progress=False)
        assert [o.status for o in outcomes] == ["ok", "ok"], [o.error for o in outcomes]
        workers = {int(p) for p in pids(tmp_path, "ab")}
        assert parents.provisioner.pid not in workers  # a worker never drives its parent's kernel
        assert not any(alive(pid) for pid in workers)  # ended before the run publishes, so silent after it
        assert parents.is_alive()
    finally:
        kernels.shutdown_all()


def test_kernels_keep_no_input_history_and_readers_see_no_stderr(tmp_path):
    """Kernels started together once fought over IPython's history database and its
    error reached the reports; now no kernel keeps a history, and what a kernel writes to
    stderr stays in the executed notebook, out of the page."""
    book = notebook(
        tmp_path / "noisy.ipynb",
        RECORD,
        "assert not get_ipython().history_manager.enabled\n"
        "import sys\nprint('for the reader')\nprint('ERROR! a notice', file=sys.stderr)",
    )
    outcomes = runner._execute_all(jobs(tmp_path, [("a", book), ("b", book)]), 2, progress=False)
    assert [o.status for o in outcomes] == ["ok", "ok"], [o.error for o in outcomes]
    executed = tmp_path / "notebooks" / "a.ipynb"
    assert "ERROR! a notice" in executed.read_text(encoding="utf-8")
    page = worker.render(executed, tmp_path / "a.html", "a", "vi").read_text(encoding="utf-8")
    assert "for the reader" in page and "ERROR!" not in page


def test_a_reports_kernel_loads_neither_the_estimators_nor_scipy():
    """A report of a d8 run reads its tables: its kernel's warm-up stays light."""
    from d8lib.ops.inkernel import REPORT_MODULES

    code = f"import importlib, sys\nfor m in {REPORT_MODULES!r}: importlib.import_module(m)\nprint(sorted(sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "d8lib.reports.evaluate" not in loaded and "'scipy'" not in loaded and "d8lib.survey.design" not in loaded


def test_a_report_worker_loads_none_of_the_runs_libraries():
    """The server that forks report workers, and each worker, import the worker module
    and the command line (multiprocessing loads the parent's main module in a child):
    both stay free of pandas, which only the run's own process needs."""
    code = "import sys\nimport d8lib.cli, d8lib.ops.worker\nprint(sorted(sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "'pandas'" not in loaded and "'papermill'" not in loaded


def test_a_worker_that_dies_fails_its_reports_with_a_named_message(tmp_path):
    """A report worker killed under a report (the out-of-memory killer, an operator)
    breaks its pool: every report not yet done is recorded as failed, with why, and the
    run goes on to its index instead of ending in a traceback."""
    killer = notebook(tmp_path / "killer.ipynb", RECORD, "import signal\nos.kill(os.getppid(), signal.SIGKILL)")
    good = notebook(tmp_path / "good.ipynb", RECORD)
    outcomes = runner._execute_all(jobs(tmp_path, [("a", killer), ("b", good)]), 1, progress=False)
    assert [o.unit for o in outcomes] == ["a", "b"]
    assert [o.status for o in outcomes] == ["failed", "failed"]  # one worker: b waited behind a
    assert all("ended abruptly" in o.error for o in outcomes)
