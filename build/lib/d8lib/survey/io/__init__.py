"""Survey data in: codebooks that say which columns are read and how (``codebook``),
XLSForms read as pyxform reads them (``xlsform``), KoboToolbox and ODK exports
(``exports``), and the import of a round into the store (``importer``)."""
