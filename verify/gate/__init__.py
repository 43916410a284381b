"""Gate configuration generated from the catalog and the current verdicts."""
