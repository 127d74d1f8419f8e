"""Survey outcomes with design-based errors: the sample design and its estimators
(``design``: Taylor linearisation, multistage, lonely PSUs; ``replicates``), weights
(``weighting``: nonresponse, calibration), contrasts between rounds (``comparisons``),
the presentation standard (``standards``), the evaluation's outcome indicators
(``outcomes``), small-area estimates for communes (``smallarea``), and ``io``, which
reads forms and exports into the store.

``Design``, ``DesignError`` and ``fay_herriot`` are loaded when first asked for: a
module that needs only the presentation standard (a report reading its tables) does
not load the estimators and SciPy."""

from importlib import import_module

_PUBLIC = {
    "Design": "d8lib.survey.design",
    "DesignError": "d8lib.survey.design",
    "fay_herriot": "d8lib.survey.smallarea",
}

__all__ = list(_PUBLIC)


def __getattr__(name: str):
    if name in _PUBLIC:
        return getattr(import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
