"""The evaluation run end to end: reports, index, manifest, Excel twins, privacy,
failures that stop nothing else, the lock, and the English edition."""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
import re
import shutil
import subprocess
import sys
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from helpers import ROOT
from openpyxl import load_workbook

from d8lib.intake.store import Store
from d8lib.monitoring import progress
from d8lib.ops import runner
from d8lib.reports import evaluate, findings
from d8lib.survey import outcomes, standards

pytestmark = pytest.mark.slow
DEMO = ROOT / "data" / "demo"
VIETNAMESE = re.compile("[àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ]", re.IGNORECASE)


@pytest.fixture(scope="module")
def midterm(tmp_path_factory):
    out = tmp_path_factory.mktemp("outputs")
    result = runner.run("midterm", jobs=2, out_dir=out, progress=False, pdf=True)
    return out, result


class Tables(HTMLParser):
    """Tables (by id) and the key findings of a report page, as text."""

    def __init__(self):
        super().__init__()
        self.tables, self.findings, self._table, self._row, self._cell, self._in_findings = (
            {},
            [],
            None,
            None,
            None,
            False,
        )

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self._table = attrs.get("id")
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = ""
        elif tag == "ul" and attrs.get("id") == "key-findings":
            self._in_findings = True
        elif tag == "li" and self._in_findings:
            self.findings.append("")

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(self._cell)
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None
        elif tag == "ul":
            self._in_findings = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data
        elif self._in_findings and self.findings:
            self.findings[-1] += data


def parse(page: Path) -> Tables:
    parser = Tables()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def test_the_run_produces_ten_reports_index_and_manifest(midterm):
    out, result = midterm
    assert result.ok and result.published
    latest = out / "latest"
    assert latest.resolve() == result.run_dir.resolve()
    pages = sorted(p.name for p in latest.glob("*.html") if p.name != "index.html")
    assert len(pages) == 10 and pages[0].startswith("080-") and "10-tinh-lao-cai.html" in pages
    manifest = json.loads((latest / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "ok" and manifest["phase"] == "midterm" and len(manifest["reports"]) == 10
    assert all(r["status"] == "ok" and r["seconds"] > 0 for r in manifest["reports"])
    inbox = str(DEMO / "inbox.csv")
    assert manifest["inputs"][inbox] == hashlib.sha256(Path(inbox).read_bytes()).hexdigest()
    assert manifest["versions"]["pandas"] == pd.__version__ and manifest["versions"]["python"]
    index = (latest / "index.html").read_text(encoding="utf-8")
    assert all(page in index for page in pages) and index.count("Hoàn thành") == 10


def test_no_report_loads_anything_from_the_internet(midterm):
    out, _ = midterm
    for page in (out / "latest").glob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"https?://", text), page.name
        assert "<script" not in text and "@import" not in text, page.name


def test_every_html_report_has_an_excel_twin_with_the_same_figures(midterm):
    out, _ = midterm
    for page in (out / "latest").glob("[0-9]*.html"):
        twin = page.with_suffix(".xlsx")
        workbook = load_workbook(twin)
        tables = parse(page).tables
        assert set(workbook.sheetnames) == set(tables) and len(tables) >= 8
        for name in workbook.sheetnames:
            rows = list(workbook[name].iter_rows(values_only=True))
            html_rows = tables[name]
            assert list(rows[0]) == html_rows[0], (page.name, name)
            for excel_row, html_row in zip(rows[1 : len(html_rows)], html_rows[1:]):
                for cell, text in zip(excel_row, html_row):
                    if isinstance(cell, (int, float)):
                        number = float(text.replace(".", "").replace(",", "."))  # 1.234,5
                        assert cell == pytest.approx(number, abs=1e-9), (page.name, name, cell, text)
                    else:
                        assert ("" if cell is None else str(cell)) == ("" if text == "–" else text), (
                            page.name,
                            name,
                            cell,
                            text,
                        )


NUMBER = re.compile(r"^-?[\d.]+(,\d+)?%?$")  # a figure as the Vietnamese edition writes it: 1.234,5


def test_every_report_has_an_a4_pdf_with_its_columns_and_figures(midterm):
    """The PDF printed beside each page (d8 run --pdf) is A4, holds every column header of
    every table, and every figure of the HTML tables (whose Excel twins hold the same,
    above) as often as the tables show it; the index links it."""
    from pypdf import PdfReader

    out, _ = midterm
    index = (out / "latest" / "index.html").read_text(encoding="utf-8")
    for page in sorted((out / "latest").glob("[0-9]*.html")):
        pdf = page.with_suffix(".pdf")
        assert f"href='{pdf.name}'" in index
        reader = PdfReader(pdf)
        width, height = (float(v) for v in reader.pages[0].mediabox[2:])
        assert (round(width / 72 * 25.4), round(height / 72 * 25.4)) == (210, 297), page.name
        text = "\n".join(p.extract_text() for p in reader.pages)
        flat, tokens = re.sub(r"\s+", "", text), text.split()
        for name, rows in parse(page).tables.items():
            for header in rows[0]:
                assert re.sub(r"\s+", "", header) in flat, (page.name, name, header)
            shown = [cell for row in rows[1:] for cell in row if NUMBER.match(cell.strip())]
            for figure in set(shown):
                assert tokens.count(figure) >= shown.count(figure), (page.name, name, figure)


def test_key_findings_match_what_d8lib_computes(midterm, plan):
    out, result = midterm
    store = Store(Path(json.loads((out / "latest" / "manifest.json").read_text())["store"]))
    as_of = dt.date(2024, 12, 31)
    table = progress.progress(plan, store.values(), as_of)
    surveys = evaluate.load_surveys(DEMO, ["baseline", "midterm"], plan.units())
    design = evaluate.survey_design(surveys, evaluate.calibration_settings(DEMO))
    checked = 0
    for unit, page in (("10", "10-tinh-lao-cai.html"), ("085", "085-huyen-bac-ha.html")):
        opening = " ".join(parse(out / "latest" / page).findings)
        mine = table[(table.unit == unit) & (table.status != "no_target")]
        counts = mine.status.value_counts()
        assert f"{counts.get('completed', 0)} trên {len(mine)} chỉ tiêu đã hoàn thành" in opening
        assert f"{counts.get('behind', 0)} chậm tiến độ" in opening
        assert f"{counts.get('at_risk', 0)} có nguy cơ không đạt" in opening
        by = ["round"] if unit == "10" else ["round", "district"]
        estimates = standards.judge(outcomes.estimate(design, ["H1", "H7"], by=by, ci="korn-graubard"))
        for row in estimates[estimates["round"] == "midterm"].itertuples():
            if unit != "10" and row.district != unit:
                continue
            sentence = (
                f"{findings.number(100 * row.estimate)}% (KTC 95%: {findings.number(100 * row.ci_low)}–"
                f"{findings.number(100 * row.ci_high)}%)"
            )
            assert (sentence in opening) == (row.flag in standards.SHOWN), (unit, row.indicator, row.flag)
            checked += row.flag in standards.SHOWN
    assert checked >= 2  # at least the province's two figures


def _raw_identities() -> tuple[set[str], set[str]]:
    names, phones = set(), set()
    for path in list((DEMO / "survey").glob("*-20*.csv")) + [DEMO / "registers" / "survivors.csv"]:
        frame = pd.read_csv(path, dtype=str)
        column = "respondent_name" if "respondent_name" in frame else "full_name"
        names |= set(frame[column].dropna())
        phones |= set(frame.phone.dropna())
    return names, phones


def _texts(folder: Path):
    for path in folder.rglob("*"):
        if path.is_symlink() or not path.is_file():
            continue
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as archive:
                yield path, " ".join(archive.read(n).decode("utf-8", "ignore") for n in archive.namelist())
        elif path.suffix != ".sqlite":
            yield path, path.read_bytes().decode("utf-8", "ignore")


def test_no_name_or_phone_of_the_raw_data_reaches_any_output(midterm):
    out, _ = midterm
    names, phones = _raw_identities()
    assert len(names) > 500 and len(phones) > 5000
    phone_pattern = re.compile(r"(?<!\d)0\d{9}(?!\d)")
    for path, text in _texts(out):
        assert not (set(phone_pattern.findall(text)) & phones), path
        assert not [n for n in names if n in text], path


def test_a_failing_report_stops_nothing_else_and_keeps_the_published_run(tmp_path):
    out = tmp_path / "outputs"
    first = runner.run("midterm", units="084", jobs=1, out_dir=out, progress=False)
    assert first.published
    before = {p: p.read_bytes() for p in first.run_dir.rglob("*") if p.is_file()}
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    book = nbformat.read(ROOT / "notebooks" / "evaluation.ipynb", as_version=4)
    book.cells.insert(2, nbformat.v4.new_code_cell('if unit == "083":\n    raise RuntimeError("forced failure")'))
    nbformat.write(book, notebooks / "evaluation.ipynb")
    command = [
        sys.executable,
        "-m",
        "d8lib.cli",
        "run",
        "--phase",
        "midterm",
        "--units",
        "province,083,Bắc Hà",
        "--jobs",
        "2",
        "--out",
        str(out),
        "--notebooks",
        str(notebooks),
    ]
    env_run = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    assert env_run.returncode == 1, env_run.stdout + env_run.stderr
    runs = sorted((out / "runs").iterdir())
    failed = runs[-1]
    manifest = json.loads((failed / "manifest.json").read_text(encoding="utf-8"))
    statuses = {r["unit"]: r for r in manifest["reports"]}
    assert statuses["083"]["status"] == "failed" and "forced failure" in statuses["083"]["error"]
    assert statuses["083"]["failed_cell"] is not None and "forced failure" in statuses["083"]["failed_source"]
    executed = nbformat.read(failed / statuses["083"]["notebook"], as_version=4)
    broken = [c for c in executed.cells if any(o.get("output_type") == "error" for o in c.get("outputs", []))]
    assert len(broken) == 1 and "forced failure" in broken[0].source
    assert statuses["10"]["status"] == "ok" and statuses["085"]["status"] == "ok" and manifest["status"] == "failed"
    assert (failed / "10-tinh-lao-cai.html").exists() and (failed / "085-huyen-bac-ha.html").exists()
    assert "forced failure" in (failed / "index.html").read_text(encoding="utf-8")
    assert (out / "latest").resolve() == first.run_dir.resolve()
    assert {p: p.read_bytes() for p in first.run_dir.rglob("*") if p.is_file()} == before


def test_a_second_run_waits_for_nobody_and_says_so(tmp_path):
    out = tmp_path / "outputs"
    with runner.run_lock(out):
        result = subprocess.run(
            [sys.executable, "-m", "d8lib.cli", "run", "--phase", "midterm", "--out", str(out)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
        )
    assert result.returncode == 3 and "Another run is using" in result.stderr


def test_the_english_edition_leaves_no_label_untranslated(tmp_path, plan):
    result = runner.run("midterm", units="province,088", jobs=2, lang="en", out_dir=tmp_path / "en", progress=False)
    assert result.ok
    proper = [
        n.split(" ", 1)[1] if n.startswith(("Tỉnh", "Huyện")) else n.split(" ", 2)[2]
        for n in plan.units().at_level("district").name.tolist() + ["Tỉnh Lào Cai"]
    ] + [n.split(" ", 1)[1] for n in plan.units().at_level("commune_2025").name]  # the new communes (small areas)
    for page in result.run_dir.glob("*.html"):
        text = re.sub(r"<style.*?</style>|<[^>]+>", " ", page.read_text(encoding="utf-8"), flags=re.DOTALL)
        for name in sorted(proper, key=len, reverse=True):
            text = text.replace(name, "")
        leftovers = sorted(
            {m.group(0) for m in re.finditer(r"\S*" + VIETNAMESE.pattern + r"\S*", text, flags=re.IGNORECASE)}
        )
        assert leftovers == [], (page.name, leftovers[:20])
    page = (result.run_dir / "10-tinh-lao-cai.html").read_text(encoding="utf-8")
    assert "Key findings" in page and "Lào Cai province" in page and '<html lang="en">' in page
    for page in result.run_dir.glob("*.html"):
        assert_read_as_readers_write(page, "en", plan)


def test_the_vietnamese_edition_speaks_to_readers(midterm, plan):
    out, _ = midterm
    for page in (out / "latest").glob("*.html"):
        assert_read_as_readers_write(page, "vi", plan)


def reader_text(page: Path) -> str:
    """What a reader reads on a page: its text, without styles, scripts or images."""
    text = re.sub(r"<(style|script)[^>]*>.*?</\1>|<[^>]+>", " ", page.read_text(encoding="utf-8"), flags=re.DOTALL)
    return re.sub(r"\s+", " ", html.unescape(text))


def assert_read_as_readers_write(page: Path, lang: str, plan) -> None:
    """No period code, no key or file name of d8, one number format for the language,
    no Vietnamese acronym left in the English edition (in d8's words: the plan's names,
    "công nghệ 4.0", are the plan's)."""
    text = reader_text(page)
    if lang == "en":
        assert not re.findall(r"\b(?:TKVVTB|ĐCTC|DTTS|KTC|TTTT)\b", text), page.name
    for name in (*plan.indicators[f"name_{lang}"], *plan.milestones[f"name_{lang}"], *plan.activities[f"name_{lang}"]):
        text = text.replace(str(name), " ")
    assert not re.findall(r"\b20\d\d-(?:final|q\d|\d\d)\b", text), page.name  # periods are said in words
    assert not re.findall(r"\b[a-z]+_[a-z_]+\b|\b[a-z]+\.[a-z_]{2,}\b", text), page.name
    assert "\u202f" not in text, page.name
    number = r"(?<![\w.,]){}(?![\w.,])"
    if lang == "vi":  # 1.234,5: a point only before three digits
        assert not re.findall(number.format(r"\d+\.\d{1,2}"), text), page.name
    else:  # 1,234.5: a comma only before three digits
        assert not re.findall(number.format(r"\d+,\d{1,2}"), text), page.name


def test_monitoring_and_explore_notebooks_execute(tmp_path, midterm):
    import papermill as pm

    out, _ = midterm
    store = json.loads((out / "latest" / "manifest.json").read_text())["store"]
    pm.execute_notebook(
        str(ROOT / "notebooks" / "monitoring.ipynb"),
        str(tmp_path / "monitoring.ipynb"),
        parameters={"period": "2024-final", "unit": "10", "store_dir": store, "excel_path": str(tmp_path / "m.xlsx")},
        kernel_name="python3",
        progress_bar=False,
        cwd=str(ROOT / "notebooks"),
    )
    text = json.dumps(nbformat.read(tmp_path / "monitoring.ipynb", as_version=4).cells, ensure_ascii=False)
    assert "Kỳ báo cáo Năm 2024 · cập nhật cả năm" in text and "25/01/2025" in text and (tmp_path / "m.xlsx").exists()
    pm.execute_notebook(
        str(ROOT / "notebooks" / "explore.ipynb"),
        str(tmp_path / "explore.ipynb"),
        parameters={"store_dir": store},
        kernel_name="python3",
        progress_bar=False,
        cwd=str(ROOT / "notebooks"),
    )
    # As an analyst opens it in JupyterLab: no bundle, no store; nothing is written beside it.
    before = sorted(p.name for p in (ROOT / "notebooks").iterdir())
    pm.execute_notebook(
        str(ROOT / "notebooks" / "evaluation.ipynb"),
        str(tmp_path / "evaluation.ipynb"),
        parameters={"unit": "084"},
        kernel_name="python3",
        progress_bar=False,
        cwd=str(ROOT / "notebooks"),
    )
    assert sorted(p.name for p in (ROOT / "notebooks").iterdir()) == before
    text = json.dumps(nbformat.read(tmp_path / "evaluation.ipynb", as_version=4).cells, ensure_ascii=False)
    assert "Huyện Si Ma Cai" in text and "key-findings" in text


def _kernels(root: int | None = None) -> set[int]:
    """Process ids of running Jupyter kernels; with ``root``, only those descended from
    that process (a run's own kernels, whatever else runs on the machine)."""
    found, parents = set(), {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                parents[int(proc.name)] = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
                if b"ipykernel" in (proc / "cmdline").read_bytes():
                    found.add(int(proc.name))
            except (OSError, ValueError, IndexError):
                continue
    if root is None:
        return found

    def descends(pid: int) -> bool:
        while pid > 1:
            pid = parents.get(pid, 0)
            if pid == root:
                return True
        return False

    return {pid for pid in found if descends(pid)}


def _start_run(out: Path, units: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "d8lib.cli",
            "run",
            "--phase",
            "midterm",
            "--units",
            units,
            "--jobs",
            "2",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _run_kernels(run: subprocess.Popen, timeout: float = 60) -> set[int]:
    """The kernels the run started, once it has started one."""
    import time

    deadline = time.monotonic() + timeout
    while not _kernels(run.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    started = _kernels(run.pid)
    assert started, "no report kernel started"
    return started


def _processes_of(out: Path) -> set[int]:
    """Process ids whose command line names the run's output folder (the run and its
    forked workers)."""
    found = set()
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if str(out).encode() in (proc / "cmdline").read_bytes():
                    found.add(int(proc.name))
            except OSError:
                continue
    return found


def _wait_until_gone(pids: set[int], out: Path, timeout: float = 5) -> set[int]:
    """The kernels of ``pids`` and the workers of the run on ``out`` still alive after
    ``timeout`` seconds (a report takes longer than that to finish by itself)."""
    import time

    deadline = time.monotonic() + timeout
    while (pids & _kernels() or _processes_of(out)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return (pids & _kernels()) | _processes_of(out)


@pytest.mark.slow
def test_a_run_killed_with_sigkill_is_followed_by_a_run_that_succeeds(tmp_path):
    import signal

    out = tmp_path / "outputs"
    killed = _start_run(out, "province,085")
    started = _run_kernels(killed)
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=30)
    assert not (out / "latest").exists()
    # Its workers let go of the lock and end with it; their kernels follow.
    assert _wait_until_gone(started, out) == set()
    result = subprocess.run(
        [sys.executable, "-m", "d8lib.cli", "run", "--phase", "midterm", "--units", "province", "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "takes over the lock" in result.stderr
    assert (out / "latest" / "index.html").exists()


@pytest.mark.slow
def test_sigterm_stops_the_workers_and_leaves_latest_as_it_was(tmp_path):
    import signal

    out = tmp_path / "outputs"
    first = runner.run("midterm", units="province", jobs=1, out_dir=out, progress=False)
    assert first.published
    stopped = _start_run(out, "province,085")
    started = _run_kernels(stopped)
    stopped.send_signal(signal.SIGTERM)
    _, stderr = stopped.communicate(timeout=60)
    assert stopped.returncode == 1 and "stopped by signal" in stderr and "nothing was published" in stderr
    assert _wait_until_gone(started, out) == set()
    assert (out / "latest").resolve() == first.run_dir.resolve()


@pytest.mark.slow
def test_a_run_of_some_units_keeps_the_last_good_reports_of_the_others(tmp_path):
    out = tmp_path / "outputs"
    first = runner.run("midterm", units="province,084", jobs=2, out_dir=out, progress=False)
    second = runner.run("midterm", units="085", jobs=1, out_dir=out, progress=False)
    assert first.published and second.published
    latest = out / "latest"
    assert latest.resolve() == second.run_dir.resolve()
    manifest = json.loads((latest / "manifest.json").read_text(encoding="utf-8"))
    reports = {r["unit"]: r for r in manifest["reports"]}
    assert list(reports) == ["10", "084", "085"]
    assert reports["10"]["carried_from"] == reports["084"]["carried_from"] == first.run_dir.name
    assert reports["085"]["carried_from"] == ""
    for unit in ("10", "084"):
        carried = latest / reports[unit]["html"]
        assert carried.read_bytes() == (first.run_dir / reports[unit]["html"]).read_bytes()
        assert (latest / reports[unit]["excel"]).exists()
    index = (latest / "index.html").read_text(encoding="utf-8")
    assert index.count("Hoàn thành") == 3 and first.run_dir.name in index


@pytest.mark.slow
def test_a_run_whose_tables_cannot_be_built_still_writes_its_index_and_manifest(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(DEMO, data, ignore=shutil.ignore_patterns("store"))
    shutil.rmtree(data / "survey")
    out = tmp_path / "outputs"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "d8lib.cli",
            "run",
            "--phase",
            "midterm",
            "--units",
            "province",
            "--jobs",
            "1",
            "--data",
            str(data),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "could not be built" in result.stdout and "Traceback" not in result.stdout + result.stderr
    run_dir = next((out / "runs").iterdir())
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "failed" and "codebook" in manifest["error"].lower()
    assert "Không tính được các bảng" in (run_dir / "index.html").read_text(encoding="utf-8")
    assert not (out / "latest").exists()


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["vi", "en"])
def test_a_yearly_review_runs_from_the_command_line_as_of_the_full_year_update(tmp_path, lang):
    out = tmp_path / "outputs"
    command = [
        sys.executable,
        "-m",
        "d8lib.cli",
        "run",
        "--review",
        "2024",
        "--units",
        "province,085",
        "--jobs",
        "2",
        "--lang",
        lang,
        "--out",
        str(out),
    ]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = json.loads((out / "latest" / "manifest.json").read_text(encoding="utf-8"))
    # The year's review runs to the deadline of its full-year update (25/01/2025 in Plan 355).
    assert manifest["review"] == "2024" and manifest["as_of"] == "2025-01-25" and manifest["status"] == "ok"
    index = (out / "latest" / "index.html").read_text(encoding="utf-8")
    assert ("Tổng kết năm 2024" if lang == "vi" else "Yearly review 2024") in index and "25/01/2025" in index
    page = parse(out / "latest" / "085-huyen-bac-ha.html")
    assert "tien-do" in page.tables and "ket-qua" not in page.tables  # progress, no survey
    assert "Kernel is running" not in result.stderr  # the kernels' noise stays in the run's kernels.log


def test_a_review_needs_a_year_a_half_year_or_an_ad_hoc_date():
    for args in (["--review", "2024-07"], ["--review", "adhoc"], ["--review", "2024", "--phase", "midterm"]):
        result = subprocess.run(
            [sys.executable, "-m", "d8lib.cli", "run", *args], capture_output=True, text=True, cwd=ROOT
        )
        assert result.returncode == 2 and "Traceback" not in result.stderr, (args, result.stderr)
