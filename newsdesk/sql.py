"""Running SQL text: DuckDB's own parser splits scripts into statements (strings and comments
holding `;` or `--` stay whole), and each statement gets exactly the $parameters it names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import duckdb

from newsdesk.project import read_sql


def statements(script: str) -> list[duckdb.Statement]:
    return duckdb.extract_statements(script)


def parameters_for(statement: duckdb.Statement | str, parameters: Mapping[str, Any]) -> dict[str, Any] | None:
    """The parameters the statement names ($name), or None when it names none."""
    if isinstance(statement, str):
        names = set().union(*(s.named_parameters for s in statements(statement)))
    else:
        names = statement.named_parameters
    return {name: parameters[name] for name in names if name in parameters} or None


def run_script(connection: duckdb.DuckDBPyConnection, script: str, **parameters: Any) -> None:
    """Run each statement of a SQL script, passing it the parameters it names."""
    for statement in statements(script):
        connection.execute(statement, parameters_for(statement, parameters))


def run_sql_file(connection: duckdb.DuckDBPyConnection, name: str, **parameters: Any) -> None:
    """Run each statement of sql/<name>."""
    run_script(connection, read_sql(name), **parameters)
