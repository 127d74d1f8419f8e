"""What readers get: the tables of a phase (``evaluate``), bundled per unit
(``bundle``), turned into sections, findings and charts (``sections``, ``findings``,
``charts``), shown in notebooks (``display``) and published under disclosure control
as HTML and Excel (``publish``), with the report template (``templates/``)."""
