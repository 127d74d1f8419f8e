"""An illustrative plan for the world after the reform, with invented figures: today's
Lào Cai (the former Lào Cai and Yên Bái, GSO code 15) in 2026-2030, its targets
allocated to its 99 new communes, quarterly rounds, and the commune reports of 2026's
first three quarters.

    python -m d8demo.illustrative   # writes the plan file and data/demo-2026/

The figures follow simple rules of a commune's position (``k``, by code) and the
quarter (``q``), so that a test can work any commune's quarter out by hand:

- targets: O1 teams 3 where k % 3 == 0, else 2; O2 groups 2 where k is odd, else 1;
  O7 trusted addresses 1; O8 dialogues 5 (1 a year); O9 clubs 1;
- reported in quarter q: O1 = min(target, (q + k % 3) // 2) teams with 12 members each
  (9 women, 3 men, 8 of an ethnic minority); O2 = min(target, (q + k % 2) // 3);
  O7 = 1 if q + k % 4 >= 3 else 0; O8 = (q + k % 2) // 2 dialogues this year to date with
  30 participants each (20 women, 10 men, 24 of an ethnic minority); O9 = 1 if
  q + k % 3 >= 3 else 0;
- sent 5 days before the deadline, 4 days after it where k % 13 == 7, and not at all
  in the first quarter where k % 11 == 5.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import yaml

from d8demo.submissions import freeze_xlsx
from d8lib.core.paths import DATA_DIR
from d8lib.intake import forms
from d8lib.plan import draft as newplan
from d8lib.plan.model import load_plan
from d8lib.units.registry import load_units

PLAN_PATH = DATA_DIR / "plans" / "lao-cai-2026-illustrative.yaml"
DATA_FOLDER = DATA_DIR / "demo-2026"
UNITS = DATA_DIR / "units" / "15"
QUARTERS = ("2026-q1", "2026-q2", "2026-q3")
NOTE_VI = "Minh họa: kế hoạch và số liệu đều là giả định, không phải của tỉnh"
NOTE_EN = "Illustration: the plan and every figure are invented, not the province's"

INDICATORS = [
    dict(code="O1", people="members", measure="count", unit_vi="tổ", unit_en="teams", aggregation="cumulative",
         name_vi="Tổ truyền thông cộng đồng được thành lập và duy trì hoạt động",
         name_en="Community communication teams established and maintained"),
    dict(code="O2", measure="count", unit_vi="tổ", unit_en="groups", aggregation="cumulative",
         name_vi="Tổ tiết kiệm và vay vốn thôn bản được thành lập và duy trì",
         name_en="Village savings and loan groups established and maintained"),
    dict(code="O7", measure="count", unit_vi="địa chỉ", unit_en="addresses", aggregation="cumulative",
         name_vi="Địa chỉ tin cậy cộng đồng được củng cố hoặc thành lập mới",
         name_en="Community trusted addresses consolidated or newly established"),
    dict(code="O8", people="participants", measure="count", unit_vi="cuộc", unit_en="dialogues", aggregation="additive",
         name_vi="Cuộc đối thoại chính sách cấp xã", name_en="Policy dialogues at commune level"),
    dict(code="O9", measure="count", unit_vi="CLB", unit_en="clubs", aggregation="cumulative",
         name_vi="CLB “Thủ lĩnh của sự thay đổi” được thành lập và duy trì",
         name_en="“Leaders of Change” clubs established and maintained"),
]  # fmt: skip
TIMELINES = {"O1": "2028-12-31", "O2": "2030-12-31", "O7": "2027-12-31", "O8": "2030-12-31", "O9": "2029-12-31"}


def commune_targets(k: int) -> dict[str, int]:
    """The invented targets of the commune in position ``k``."""
    return {"O1": 3 if k % 3 == 0 else 2, "O2": 2 if k % 2 else 1, "O7": 1, "O8": 5, "O9": 1}


def commune_report(k: int, q: int) -> dict[str, dict]:
    """What the commune in position ``k`` reports for quarter ``q`` of 2026 (form values)."""
    targets = commune_targets(k)
    teams = min(targets["O1"], (q + k % 3) // 2)
    dialogues = (q + k % 2) // 2
    return {
        "O1": dict(value=teams, people=12 * teams, female=9 * teams, male=3 * teams, ethnic_minority=8 * teams),
        "O2": dict(value=min(targets["O2"], (q + k % 2) // 3)),
        "O7": dict(value=int(q + k % 4 >= 3)),
        "O8": dict(
            value=dialogues,
            people=30 * dialogues,
            female=20 * dialogues,
            male=10 * dialogues,
            ethnic_minority=24 * dialogues,
        ),
        "O9": dict(value=int(q + k % 3 >= 3)),
    }


def sent_on(k: int, q: int, deadline: dt.date) -> dt.date | None:
    """When the commune in position ``k`` sent its report of quarter ``q`` (None: never)."""
    if q == 1 and k % 11 == 5:
        return None
    return deadline + dt.timedelta(days=4) if k % 13 == 7 else deadline - dt.timedelta(days=5)


def plan_document(communes: pd.DataFrame) -> dict:
    """The plan file's content: communes (code, name) in order of code."""
    allocation = [
        dict(unit=c.code, name=c.name, row=k + 1, values=list(commune_targets(k).values()))
        for k, c in enumerate(communes.itertuples())
    ]
    codes = list(commune_targets(0))
    totals = [sum(a["values"][i] for a in allocation) for i in range(len(codes))]
    source = "Phụ lục (minh họa)"
    return dict(
        meta=dict(
            number="MH-2026/KH-UBND",
            date=dt.date(2026, 2, 2),
            issuer="Ủy ban nhân dân tỉnh Lào Cai (minh họa)",
            province=dict(code="15", name="Tỉnh Lào Cai"),
            signer="(minh họa)",
            signer_role="TM. Ủy ban nhân dân tỉnh",
            title_vi="Kế hoạch minh họa thực hiện Dự án 8 trên địa bàn tỉnh Lào Cai, giai đoạn 2026-2030",
            title_en="Illustrative plan for Project 8 in Lào Cai, 2026-2030",
            illustration=dict(vi=NOTE_VI, en=NOTE_EN),
            phase=dict(
                name_vi="Giai đoạn 2026-2030", name_en="2026-2030", start=dt.date(2026, 1, 1), end=dt.date(2030, 12, 31)
            ),
        ),
        units="../units/15",
        reporting=dict(
            source="Mục minh họa; Quyết định 552/QĐ-BDTTG (2025)",
            level="commune_2025",
            rounds=newplan.QUARTERLY_ROUNDS,
            years=list(range(2026, 2031)),
        ),
        agencies=[dict(code="VWU", role="lead", source="Mục minh họa", name_vi="Hội Liên hiệp Phụ nữ tỉnh",
                       name_en="Provincial Women's Union")],
        indicators=[dict(i, higher_is_better=True) for i in INDICATORS],
        targets=[
            dict(
                indicator=code,
                target=total,
                comparator="=",
                headline=code != "O9",
                statements=[dict(value=total, source=f"{source}, cột {i + 1}")],
                timeline=dict(start=dt.date(2026, 1, 1), complete=dt.date.fromisoformat(TIMELINES[code]),
                              source=source, text="minh họa"),
            )
            for i, (code, total) in enumerate(zip(codes, totals))
        ],
        allocation=dict(
            source=source,
            indicators=codes,
            province=dict(row="Tổng cộng", values=totals),
            communes=allocation,
        ),
    )  # fmt: skip


def write(plan_path: Path = PLAN_PATH, folder: Path = DATA_FOLDER) -> None:
    """The plan file, and the commune reports of 2026's first three quarters with their inbox."""
    communes = load_units(UNITS).at_level("commune_2025").sort_values("code", ignore_index=True)
    header = (
        "# ILLUSTRATION: an invented plan of today's Lào Cai (15) after the reform of 1/7/2025, with\n"
        "# invented targets and figures (d8demo/illustrative.py writes this file; do not edit it).\n"
    )
    text = yaml.safe_dump(plan_document(communes), allow_unicode=True, sort_keys=False, width=110)
    plan_path.write_text(header + text, encoding="utf-8")
    plan = load_plan(plan_path)
    deadlines = plan.rounds.set_index("period").deadline
    submissions = folder / "submissions"
    submissions.mkdir(parents=True, exist_ok=True)
    inbox = []
    for q, period in enumerate(QUARTERS, start=1):
        for k, commune in enumerate(communes.code):
            sent = sent_on(k, q, deadlines[period])
            if sent is None:
                continue
            name = f"{commune}-{period}.xlsx"
            forms.write_template(plan, commune, period, submissions / name)
            forms.fill(submissions / name, commune_report(k, q), sent=sent.strftime("%d/%m/%Y"))
            freeze_xlsx(submissions / name)
            inbox.append(dict(file=name, sent_on=sent.isoformat()))
    pd.DataFrame(inbox).sort_values(["sent_on", "file"]).to_csv(folder / "inbox.csv", index=False, lineterminator="\n")


if __name__ == "__main__":
    write()
