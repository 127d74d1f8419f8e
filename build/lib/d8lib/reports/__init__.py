"""What readers get: the tables of a phase (``evaluate``), bundled per unit
(``bundle``), turned into sections, findings and charts (``sections``, ``findings``,
``charts``), shown in notebooks (``display``), published under disclosure control
(``disclosure``), written for readers (``formats``: numbers, HTML tables and charts)
and as Excel (``excel``), with the report template (``templates/``)."""
