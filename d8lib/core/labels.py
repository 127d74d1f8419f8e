"""The readers' labels (``data/labels.yaml``) in Vietnamese or English: names of units,
reviews, periods and places in the plan as readers say them."""

from __future__ import annotations

from functools import lru_cache

import yaml

from d8lib.core.paths import DATA_DIR

LANGUAGES = ("vi", "en")  # the languages readers are written to


@lru_cache(maxsize=1)
def _labels() -> dict:
    return yaml.load(
        (DATA_DIR / "labels.yaml").read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    )


def label(key: str, lang: str = "vi") -> str:
    """The reader's label for a dotted key of ``data/labels.yaml``."""
    node = _labels()
    for part in key.split("."):
        node = node[part]
    return node[lang]


def unit_name(name: str, lang: str = "vi") -> str:
    """A unit's name for the reader: "Huyện Mỹ Đức" in Vietnamese, "Mỹ Đức district" in English."""
    if lang == "vi":
        return name
    for prefix, suffix in _labels()["unit_prefixes"]:
        if name.startswith(prefix):
            return name[len(prefix) :] + suffix
    return name


def review_name(review: str, lang: str, plan) -> str:
    """A review as readers name it: the yearly review of 2024, one of the plan's reviews
    (``reporting.reviews``: the 6-month review of 2024), the review of a reporting round."""
    if review == "adhoc":
        return label("review.adhoc", lang)
    year, _, part = review.partition("-")
    own = plan.reviews[plan.reviews.id == part]
    if not part:
        return label("review.year", lang).format(year=year)
    if len(own):
        return own[f"label_{lang}"].iloc[0].format(year=year)
    rounds = plan.rounds.set_index("period")
    return label("review.round", lang).format(round=rounds[f"label_{lang}"].get(review, part), year=year)


def period_names(plan) -> dict[str, dict[str, str]]:
    """Each reporting period of a plan as readers name it, by language ("Năm 2023 · cập
    nhật cả năm" / "2023 · full-year update", from the round's ``short_vi``/``short_en``)."""
    return {
        r.period: {
            lang: label("period", lang).format(year=r.year, round=getattr(r, f"short_{lang}")) for lang in LANGUAGES
        }
        for r in plan.rounds.itertuples()
    }


def plan_reference(text: str, lang: str = "vi", terms: list | tuple = ()) -> str:
    """A place in the plan ("Phụ lục 01, dòng 3") as the reader's language says it;
    ``terms``: the plan's own words in its references, with their English (``meta.terms``)."""
    if lang == "vi":
        return text
    for vi, en in sorted([*_labels()["source_terms"], *terms], key=lambda pair: -len(pair[0])):
        text = text.replace(vi, en)
    return text


def has_label(key: str) -> bool:
    node = _labels()
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True
