"""Great Expectations suites (expectations/) run as Dagster asset checks on the warehouse tables."""

warehouse_checks: list = []
