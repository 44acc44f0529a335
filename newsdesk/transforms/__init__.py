"""Pure transforms: bytes and text in, polars frames out. No Dagster, no DuckDB here."""
