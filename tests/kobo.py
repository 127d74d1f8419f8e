"""Field exports as KoboToolbox and ODK Central deliver them, built from a demo round:
an XLSForm (survey and choices sheets, Vietnamese and English labels, groups, a
repeat of the women of each household, select_multiple, calculate), an xlsx export
with group paths, choice labels and the repeat on its own sheet, and an ODK Central
zip of csv files with "-" paths and choice names."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook

YES_NO = [("1", "Có", "Yes"), ("0", "Không", "No")]
CHOICES = {
    "yes_no": YES_NO,
    "ket_qua_ho": [
        ("completed", "Đã phỏng vấn hộ", "Household interviewed"),
        ("household_not_interviewed", "Không phỏng vấn được hộ", "Household not interviewed"),
    ],
    "ket_qua": [
        ("completed", "Hoàn thành", "Completed"),
        ("not_at_home", "Vắng nhà", "Not at home"),
        ("refused", "Từ chối", "Refused"),
    ],
    "dan_toc": [
        ("hmong", "H'Mông", "Hmong"),
        ("dao", "Dao", "Dao"),
        ("tay", "Tày", "Tay"),
        ("giay", "Giáy", "Giay"),
        ("nung", "Nùng", "Nung"),
        ("phula", "Phù Lá", "Phu La"),
        ("hanhi", "Hà Nhì", "Ha Nhi"),
        ("kinh", "Kinh", "Kinh"),
        ("other", "other", "Other"),
    ],
    "hoc_van": [
        ("none", "Không đi học", "None"),
        ("primary", "Tiểu học", "primary"),
        ("lower_secondary", "Trung học cơ sở", "lower_secondary"),
        ("upper_secondary", "Trung học phổ thông", "upper_secondary"),
    ],
    "hon_nhan": [(v, v, v) for v in ["never", "married", "cohabiting", "divorced", "separated", "widowed"]],
    "noi_sinh": [("home", "Tại nhà", "home"), ("facility", "Cơ sở y tế", "facility")],
    "quyet_dinh": [(v, v, v) for v in ["self", "joint", "husband", "other"]],
    "ly_do": [
        ("beat_goes_out", "Đi ra ngoài không nói", "Goes out"),
        ("beat_neglects_children", "Bỏ bê con", "Neglects children"),
        ("beat_argues", "Cãi lại", "Argues"),
        ("beat_refuses_sex", "Từ chối quan hệ", "Refuses sex"),
        ("beat_burns_food", "Làm cháy thức ăn", "Burns food"),
        ("none", "Không lý do nào", "None"),
    ],
}
YES_NO_QUESTIONS = [
    "ever_partnered",
    "birth_2y",
    "ipv_physical_12m",
    "ipv_sexual_12m",
    "sought_formal_help",
    "knows_trusted_address",
    "has_formal_account",
    "tkvvtb_member",
    "spoke_at_meeting",
]
REASONS = ["beat_goes_out", "beat_neglects_children", "beat_argues", "beat_refuses_sex", "beat_burns_food"]

# (type, name, Vietnamese label, relevant); "begin group x" / "end group" structure rows.
SURVEY = [
    ("begin group", "ho", "Hộ gia đình", ""),
    ("text", "village", "Thôn", ""),
    ("text", "household", "Mã hộ", ""),
    ("calculate", "stratum", "", ""),
    ("calculate", "weight", "", ""),
    ("select_one ket_qua_ho", "household_response", "Kết quả phỏng vấn hộ", ""),
    ("end group", "", "", ""),
    ("begin repeat", "phu_nu", "Phụ nữ 15-49 tuổi", ""),
    ("text", "respondent_id", "Mã phiếu", ""),
    ("begin group", "thong_tin", "Thông tin liên hệ", ""),
    ("text", "ho_ten", "Họ và tên", ""),
    ("text", "so_dien_thoai", "Số điện thoại", ""),
    ("end group", "", "", ""),
    ("select_one ket_qua", "response", "Kết quả phỏng vấn", ""),
    ("begin group", "ca_nhan", "Thông tin cá nhân", ""),
    ("integer", "age", "Tuổi", ""),
    ("select_one dan_toc", "ethnicity", "Dân tộc", ""),
    ("select_one hoc_van", "education", "Học vấn", ""),
    ("select_one hon_nhan", "marital_status", "Hôn nhân", ""),
    ("select_one yes_no", "ever_partnered", "Đã từng kết hôn", ""),
    ("integer", "age_first_union", "Tuổi kết hôn lần đầu", "${ever_partnered} = '1'"),
    ("end group", "", "", ""),
    ("begin group", "sinh_con", "Sinh con", ""),
    ("select_one yes_no", "birth_2y", "Sinh con trong 2 năm qua", ""),
    ("select_one noi_sinh", "birth_place", "Nơi sinh", "${birth_2y} = '1'"),
    ("integer", "anc_visits", "Số lần khám thai", "${birth_2y} = '1'"),
    ("end group", "", "", ""),
    ("begin group", "thai_do", "Thái độ", ""),
    ("select_multiple ly_do", "beat_reasons", "Chồng đánh vợ là chấp nhận được khi", ""),
    ("end group", "", "", ""),
    ("begin group", "bao_luc", "Bạo lực", ""),
    ("select_one yes_no", "ipv_physical_12m", "Bạo lực thể chất 12 tháng", ""),
    ("select_one yes_no", "ipv_sexual_12m", "Bạo lực tình dục của chồng/bạn tình 12 tháng", ""),
    (
        "select_one yes_no",
        "sought_formal_help",
        "Tìm kiếm trợ giúp",
        "${ipv_physical_12m} = '1' or ${ipv_sexual_12m} = '1'",
    ),
    ("end group", "", "", ""),
    ("select_one yes_no", "knows_trusted_address", "Biết địa chỉ tin cậy", ""),
    ("select_one yes_no", "has_formal_account", "Có tài khoản", ""),
    ("select_one yes_no", "tkvvtb_member", "Thành viên TKVVTB", ""),
    ("select_one yes_no", "spoke_at_meeting", "Phát biểu ở họp thôn", ""),
    ("select_one quyet_dinh", "purchase_decision", "Quyết định mua sắm lớn", ""),
    ("end repeat", "", "", ""),
]


def write_form(
    path: Path,
    rename: dict | None = None,
    relabel: dict | None = None,
    extra: tuple = (),
    relevant: dict | None = None,
) -> Path:
    """The XLSForm; ``rename`` gives questions other names, ``relabel`` other choices
    (name, Vietnamese label, English label) per list; ``extra`` rows go at the end of
    the household group; ``relevant`` sets the skip logic of questions or groups by name."""
    rename, relabel, relevant_of = rename or {}, relabel or {}, relevant or {}
    book = Workbook()
    survey = book.active
    survey.title = "survey"
    survey.append(["type", "name", "label::Vietnamese (vi)", "label::English (en)", "relevant"])
    rows = list(SURVEY)
    rows[rows.index(("end group", "", "", "")) : rows.index(("end group", "", "", ""))] = list(extra)
    for kind, name, label, relevant in rows:
        relevant = relevant_of.get(name, relevant) if name else relevant
        for old, new in rename.items():
            relevant = relevant.replace("${" + old + "}", "${" + new + "}")
        survey.append([kind, rename.get(name, name), label, name.replace("_", " "), relevant])
    choices = book.create_sheet("choices")
    choices.append(["list_name", "name", "label::Vietnamese (vi)", "label::English (en)"])
    for list_name, items in CHOICES.items():
        for name, vi, en in items:
            choices.append([list_name, *relabel.get(list_name, {}).get(name, (name, vi, en))])
    settings = book.create_sheet("settings")
    settings.append(["form_title", "form_id", "default_language"])
    settings.append(["Khảo sát phụ nữ 15-49", "khao_sat_phu_nu", "Vietnamese (vi)"])
    book.save(path)
    return path


def _text(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _label(list_name: str, value: str, relabel: dict | None = None, language: str = "vi") -> str:
    changed = (relabel or {}).get(list_name, {})
    index = 1 if language == "vi" else 2
    if value in changed:
        return changed[value][index]
    return next((choice[index] for choice in CHOICES[list_name] if choice[0] == value), value)


def woman_columns(
    round_: pd.DataFrame, labels: bool, relabel: dict | None = None, language: str = "vi"
) -> pd.DataFrame:
    """The women's answers as the form records them: choice labels or names."""
    women = pd.DataFrame(index=round_.index)
    lists = {
        "ethnicity": "dan_toc",
        "education": "hoc_van",
        "marital_status": "hon_nhan",
        "birth_place": "noi_sinh",
        "purchase_decision": "quyet_dinh",
        "response": "ket_qua",
    }
    ethnic = {vi: name for name, vi, _ in CHOICES["dan_toc"]}
    for column in [
        "respondent_id",
        "respondent_name",
        "phone",
        "response",
        "age",
        "ethnicity",
        "education",
        "marital_status",
        "ever_partnered",
        "age_first_union",
        "birth_2y",
        "birth_place",
        "anc_visits",
        "ipv_physical_12m",
        "ipv_sexual_12m",
        "sought_formal_help",
        "knows_trusted_address",
        "has_formal_account",
        "tkvvtb_member",
        "spoke_at_meeting",
        "purchase_decision",
    ]:
        values = round_[column].map(_text)
        if column == "ethnicity":
            values = values.map(lambda v: ethnic.get(v, v))
        if labels and column in lists:
            values = values.map(lambda v, c=column: _label(lists[c], v, relabel, language) if v else v)
        if labels and column in YES_NO_QUESTIONS:
            values = values.map(lambda v: _label("yes_no", v, language=language) if v else v)
        women[column] = values
    answered = round_[REASONS].notna().all(axis=1)
    chosen = [
        " ".join([r for r in REASONS if row[r] == 1] or ["none"]) if ok else ""
        for (_, row), ok in zip(round_[REASONS].iterrows(), answered)
    ]
    women["beat_reasons"] = chosen
    for reason in REASONS + ["none"]:
        women[f"beat_reasons/{reason}"] = [("1" if reason in c.split() else "0") if c else "" for c in chosen]
    return women


LABELS = {name: label for _, name, label, _ in SURVEY if name}


def kobo_xlsx(
    round_: pd.DataFrame,
    path: Path,
    rename: dict | None = None,
    relabel: dict | None = None,
    language: str = "vi",
    label_headers: bool = False,
    review: dict | None = None,
) -> Path:
    """KoboToolbox's xlsx export: XML group paths (or with ``label_headers`` the
    Vietnamese labels of groups and questions) as headers, labels in ``language`` as
    values, the women on the sheet of their repeat group, metadata columns;
    ``review`` gives households a ``_validation_status``."""
    rename, review = rename or {}, review or {}

    def head(*parts: str) -> str:
        if label_headers:
            return "/".join(LABELS.get(p) or p for p in parts)  # a question without a label: its name
        return "/".join(rename.get(p, p) for p in parts)

    households = round_.drop_duplicates("household").reset_index(drop=True)
    book = Workbook()
    main = book.active
    main.title = "Khảo sát phụ nữ 15-49"
    main.append(
        [
            head("ho", "village"),
            head("ho", "household"),
            head("ho", "stratum"),
            head("ho", "weight"),
            head("ho", "household_response"),
            "_id",
            "_uuid",
            "_submission_time",
            "_validation_status",
            "_index",
        ]
    )
    for k, h in households.iterrows():
        result = "household_not_interviewed" if h.response == "household_not_interviewed" else "completed"
        main.append(
            [
                h.village,
                h.household,
                h.stratum,
                _text(h.weight),
                _label("ket_qua_ho", result, language=language),
                1000 + k,
                f"uuid-{h.household}",
                "2024-10-01T08:00:00",
                review.get(h.household, ""),
                k + 1,
            ]
        )
    sheet = book.create_sheet("phu_nu")
    women = woman_columns(round_, labels=True, relabel=relabel, language=language)
    groups = {
        "respondent_name": ("thong_tin", "ho_ten"),
        "phone": ("thong_tin", "so_dien_thoai"),
        "age": ("ca_nhan", "age"),
        "ethnicity": ("ca_nhan", "ethnicity"),
        "education": ("ca_nhan", "education"),
        "marital_status": ("ca_nhan", "marital_status"),
        "ever_partnered": ("ca_nhan", "ever_partnered"),
        "age_first_union": ("ca_nhan", "age_first_union"),
        "birth_2y": ("sinh_con", "birth_2y"),
        "birth_place": ("sinh_con", "birth_place"),
        "anc_visits": ("sinh_con", "anc_visits"),
        "beat_reasons": ("thai_do", "beat_reasons"),
        "ipv_physical_12m": ("bao_luc", "ipv_physical_12m"),
        "ipv_sexual_12m": ("bao_luc", "ipv_sexual_12m"),
        "sought_formal_help": ("bao_luc", "sought_formal_help"),
    }
    headers = []
    for column in women.columns:
        stem, _, choice = column.partition("/")
        parts = groups.get(stem, (stem,))
        if choice and label_headers:
            choice = _label("ly_do", choice)
        headers.append(head("phu_nu", *parts) + (f"/{choice}" if choice else ""))
    sheet.append(headers + ["_index", "_parent_table_name", "_parent_index", "_submission__uuid"])
    parent = {h: k + 1 for k, h in enumerate(households.household)}
    interviewed = round_.response != "household_not_interviewed"
    for k, ((_, w), (_, r)) in enumerate(zip(women[interviewed].iterrows(), round_[interviewed].iterrows())):
        sheet.append(list(w.to_numpy()) + [k + 1, main.title, parent[r.household], f"uuid-{r.household}"])
    book.save(path)
    return path


def odk_zip(round_: pd.DataFrame, path: Path, review: dict | None = None) -> Path:
    """ODK Central's csv zip: "-" group paths, choice names, select_multiple as one
    space-separated column, the repeat in form-phu_nu.csv linked by PARENT_KEY;
    ``review`` gives households a ``ReviewState``."""
    households = round_.drop_duplicates("household").reset_index(drop=True)
    main = pd.DataFrame(
        {
            "SubmissionDate": "2024-10-01T08:00:00.000Z",
            "ho-village": households.village,
            "ho-household": households.household,
            "ho-stratum": households.stratum,
            "ho-weight": households.weight.map(_text),
            "ho-household_response": np.where(
                households.response == "household_not_interviewed", "household_not_interviewed", "completed"
            ),
            "meta-instanceID": "uuid:" + households.household,
            "KEY": "uuid:" + households.household,
            "ReviewState": [(review or {}).get(h, "") for h in households.household],
        }
    )
    interviewed = round_[round_.response != "household_not_interviewed"]
    women = woman_columns(interviewed, labels=False).drop(columns=[f"beat_reasons/{r}" for r in REASONS + ["none"]])
    women = women.rename(columns={"respondent_name": "thong_tin-ho_ten", "phone": "thong_tin-so_dien_thoai"})
    women.columns = [f"phu_nu-{c}" for c in women.columns]
    women["PARENT_KEY"] = ("uuid:" + interviewed.household).to_numpy()
    women["KEY"] = [f"{p}/phu_nu[1]" for p in women.PARENT_KEY]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("khao_sat_phu_nu.csv", main.to_csv(index=False))
        archive.writestr("khao_sat_phu_nu-phu_nu.csv", women.to_csv(index=False))
    path.write_bytes(buffer.getvalue())
    return path
