"""The judge: cases, dtypes, ULP error, derived tolerances, verdicts and result records."""
