"""How far the plan has come: achieved against expected per unit and period
(``progress``), the plan's dated milestones (``milestones``), and the quality of
reporting, timeliness and completeness (``quality``). Pure functions over the plan
and the store's tables."""
