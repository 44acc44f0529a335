"""Refresh the outputs shown in docs/queries.md from the sample warehouse.

    .venv/bin/newsdesk run                              # builds var/warehouse.ducklake from the samples
    .venv/bin/python docs/render_queries.py [WAREHOUSE] # rewrites each query's result table

tests/test_queries_doc.py runs every query as written and fails when the page is out of date.
"""

import re
import sys
from pathlib import Path

import duckdb

from newsdesk.warehouse import Warehouse

DOC = Path(__file__).with_name("queries.md")
# A ```sql block, then optionally the result table that follows it.
_QUERY = re.compile(r"```sql\n(?P<sql>.*?)\n```\n(?:\n(?P<table>(?:\|[^\n]*\n)+))?", re.S)


def render(connection: duckdb.DuckDBPyConnection, sql: str) -> str:
    """A query's result as the markdown table the page shows."""
    relation = connection.sql(sql)
    header = "| " + " | ".join(relation.columns) + " |\n|" + "---|" * len(relation.columns) + "\n"
    return header + "".join("| " + " | ".join(_cell(v) for v in row) + " |\n" for row in relation.fetchall())


def _cell(value) -> str:
    text = "NULL" if value is None else ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    text = text.replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= 70 else text[:69] + "…"


def queries(page: str) -> list[re.Match]:
    return list(_QUERY.finditer(page))


def main(warehouse: str) -> None:
    page = DOC.read_text(encoding="utf-8")
    with Warehouse(warehouse).reader() as connection:
        page = _QUERY.sub(lambda m: f"```sql\n{m['sql']}\n```\n\n{render(connection, m['sql'])}", page)
    DOC.write_text(page, encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "var/warehouse.ducklake")
