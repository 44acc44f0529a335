"""Materialization metadata shown in the Dagster UI: schemas and small markdown previews."""

import dagster as dg
import polars as pl


def table_schema(schema: dict[str, pl.DataType | str]) -> dg.TableSchema:
    return dg.TableSchema(columns=[dg.TableColumn(name, str(dtype)) for name, dtype in schema.items()])


def markdown_table(frame: pl.DataFrame, max_chars: int = 80) -> str:
    """A small frame as a markdown table, long cells cut to max_chars."""

    def cell(value: object) -> str:
        text = "" if value is None else str(value).replace("|", "\\|").replace("\n", " ")
        return text if len(text) <= max_chars else text[: max_chars - 1] + "…"

    header = "| " + " | ".join(frame.columns) + " |\n|" + "---|" * frame.width + "\n"
    return header + "\n".join("| " + " | ".join(cell(v) for v in row) + " |" for row in frame.iter_rows())
