"""Survey outcomes with design-based errors: the sample design and its estimators
(``design``: Taylor linearisation, multistage, lonely PSUs; ``replicates``), weights
(``weighting``: nonresponse, calibration), contrasts between rounds (``comparisons``),
the presentation standard (``standards``), the evaluation's outcome indicators
(``outcomes``), small-area estimates for communes (``smallarea``), and ``io``, which
reads forms and exports into the store."""

from d8lib.survey.design import Design, DesignError
from d8lib.survey.smallarea import fay_herriot

__all__ = ["Design", "DesignError", "fay_herriot"]
