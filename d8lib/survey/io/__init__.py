"""Survey data in and out: codebooks that say which columns are read and how (``codebook``),
XLSForms read as pyxform reads them (``xlsform``), KoboToolbox and ODK exports
(``exports``), the import of a round into the store (``importer``), and survey files
with replicate weights in place of strata and villages (``replicate_file``)."""
