"""The ground every layer stands on: bilingual errors, text keys for Vietnamese names,
where the shipped data live, atomic writes, fingerprints of files and code, the
expression language of XLSForm skip logic, and the readers' labels. Imports nothing
else of d8lib."""
