"""Pure transforms: bytes and text in, polars frames out. No Dagster, no DuckDB here."""

# Polars runs a lazy query on its streaming engine unless told otherwise. A batch's queries are
# small, and on the in-memory engine, the one its eager calls run on, they start ten times faster.
IN_MEMORY = "in-memory"
