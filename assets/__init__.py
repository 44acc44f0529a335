"""newsdesk assets: the Dagster assets, and the pure polars transforms they call."""
