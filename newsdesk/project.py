"""Where the project's own files live, and where a run writes by default.

In a checkout (`make run`, an editable install) the repository holds them: sql/,
expectations/ and samples/ beside the packages, and var/ for what runs write. An installed
wheel (pip, pipx, uv tool) carries the same files as data files, under share/newsdesk of its
environment, and writes into the user's data folder instead of the environment.
"""

import os
import sysconfig
from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parents[1]


def _project_files() -> Path:
    """The checkout, or the first installation scheme whose share/newsdesk holds the files."""
    candidates = [_CHECKOUT]
    for scheme in (sysconfig.get_default_scheme(), sysconfig.get_preferred_scheme("user")):
        candidates.append(Path(sysconfig.get_paths(scheme=scheme)["data"]) / "share" / "newsdesk")
    for folder in candidates:
        if (folder / "sql" / "schema.sql").is_file():
            return folder
    raise FileNotFoundError(
        f"newsdesk's SQL and suite files are in none of {', '.join(map(str, candidates))}: reinstall newsdesk"
    )


def _var_dir() -> Path:
    if PROJECT_FILES == _CHECKOUT:
        return _CHECKOUT / "var"
    data_home = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data_home) / "newsdesk"


PROJECT_FILES = _project_files()
SQL_DIR = PROJECT_FILES / "sql"
EXPECTATIONS_DIR = PROJECT_FILES / "expectations"
SAMPLE_DUMPS_DIR = PROJECT_FILES / "samples" / "dumps"
EDITIONS_FILE = Path(__file__).with_name("editions.toml")
# Everything a run writes (warehouse, partition files, Dagster home, reports) goes here unless
# told otherwise.
VAR_DIR = _var_dir()
DEFAULT_WAREHOUSE = VAR_DIR / "warehouse.ducklake"


def read_sql(name: str) -> str:
    """The text of a SQL file under sql/, e.g. read_sql("schema.sql")."""
    return (SQL_DIR / name).read_text(encoding="utf-8")
