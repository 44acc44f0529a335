"""Where the project's own files live: the repository is the installation."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SQL_DIR = PROJECT_ROOT / "sql"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
EDITIONS_FILE = PROJECT_ROOT / "newsdesk" / "editions.toml"
SAMPLE_DUMPS_DIR = PROJECT_ROOT / "samples" / "dumps"
# Everything a run writes (warehouse, partition files, Dagster home, reports) stays here.
VAR_DIR = PROJECT_ROOT / "var"
DEFAULT_WAREHOUSE = VAR_DIR / "warehouse.ducklake"


def read_sql(name: str) -> str:
    """The text of a SQL file under sql/, e.g. read_sql("schema.sql")."""
    return (SQL_DIR / name).read_text(encoding="utf-8")
