"""Writing and checking files: what each export column means, column-wise tables, formula-
safe CSV rows and the read-back of every written file. Imports nothing else in data/
(models/ and outcomes/ only)."""
