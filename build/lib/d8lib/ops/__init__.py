"""Running reports unattended: a run of a phase or review for a province and its units
(``runner``: the lock, execution, the record of a run), reusing what did not change
(``reuse``), and the national run over many provinces (``national``)."""
