"""The warehouse: a DuckLake, that is a catalog (a SQLite file, or a PostgreSQL database when
several machines share it) plus the Parquet data files its snapshots point to, with its
one-writer rule, its readers, and the partition files it is published from. Plain Python:
the Dagster resource (assets/resources.py) wraps it.

Every publish commits one snapshot. A reader attaches the catalog read-only and sees the
snapshot that was newest when its transaction began (or the one it asks for), whatever is
committed meanwhile; the SQLite catalog runs in WAL mode, so no reader blocks a commit.
DuckDB's extensions come from the duckdb-extension-* packages: nothing is downloaded.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import duckdb
from filelock import FileLock, Timeout

from newsdesk.files import part_file_name
from newsdesk.project import read_sql

# DuckDB's memory for one connection; it spills to disk beyond it. With this, a 3M-page publish
# and its checks peaked at 1.3 GB, as fast as with 1 or 2 GB (docs/scaling.md, "Where the peak
# memory is").
DEFAULT_DUCKDB_MEMORY = "600MB"
DEFAULT_LOCK_TIMEOUT_SECONDS = 600.0
# The name the warehouse is attached under in every connection (and `USE`d).
CATALOG = "warehouse"
# The extension files, from their packages: (package, file name without .duckdb_extension).
DUCKLAKE = ("duckdb_extension_ducklake", "ducklake")
SQLITE = ("duckdb_extension_sqlite_scanner", "sqlite_scanner")
POSTGRES = ("duckdb_extension_postgres_scanner", "postgres_scanner")
HTTPFS = ("duckdb_extension_httpfs", "httpfs")
# Nothing DuckDB would fetch or load by itself: every extension is loaded from its package.
_NO_AUTOMATIC_EXTENSIONS = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
}
# S3-compatible storage for the data files: the secret DuckDB signs requests with, from the
# variables every S3 client reads.
_S3_SECRET = {
    "KEY_ID": "AWS_ACCESS_KEY_ID",
    "SECRET": "AWS_SECRET_ACCESS_KEY",
    "REGION": "AWS_REGION",
    "ENDPOINT": "AWS_ENDPOINT_URL",  # host:port of an S3-compatible server (MinIO, Ceph, ...)
}
# Options of the lake, set by its writer where the lake has none of its own: data files
# compressed like the partition files; every insert written as Parquet (small ones would
# otherwise live in the catalog); row groups cut at 16 MB as well as at DuckDB's 122,880 rows,
# because the writer holds a row group in memory until it is cut, and 122,880 article texts
# outgrow DuckDB's memory limit (a dump of 167,000 pages failed the publish with 600 MB; with
# the cut it passes with 300 MB, in the same time). DuckDB cuts by bytes only where it need not
# keep insertion order: a session that writes the lake sets preserve_insertion_order to false,
# as every newsdesk connection does (configure_connection), or its inserts fail.
_LAKE_OPTIONS = {"parquet_compression": "zstd", "data_inlining_row_limit": "0", "parquet_row_group_size_bytes": "16MB"}


def _set_missing_options(connection: duckdb.DuckDBPyConnection) -> None:
    """Set the _LAKE_OPTIONS that the lake does not hold yet: all of them in a new lake, an option
    added since in an older one; a value the lake holds (its owner's choice) is kept. Setting an
    option commits no snapshot."""
    held = {name for (name,) in connection.execute(f"SELECT option_name FROM {CATALOG}.options() WHERE scope = 'GLOBAL'").fetchall()}
    for option, value in _LAKE_OPTIONS.items():
        if option not in held:
            connection.execute(f"CALL {CATALOG}.set_option({sql_literal(option)}, {sql_literal(value)})")


class WarehouseUnavailable(RuntimeError):
    """The warehouse cannot be opened: none yet, locked too long, or not a newsdesk DuckLake."""


@dataclass(frozen=True)
class Warehouse:
    """The DuckLake warehouse: `path` names its catalog; the data files live next to it in
    `<name>.data/`, the per-dump partition files it is published from in `<name>.parts/`.
    Only `writer` writes it, one at a time, so parallel partition runs never meet on it.

    With `catalog` (a DuckLake metadata location such as `postgres:dbname=lake host=db`), the
    catalog lives there instead, and `path` only places the rest, on storage every machine
    reaches: `path` itself is then never created. With `data_path` (a folder, or a URL such
    as `s3://bucket/lake/`), the data files live there instead of `<name>.data/`."""

    path: str
    lock_timeout_seconds: float = DEFAULT_LOCK_TIMEOUT_SECONDS
    duckdb_memory_limit: str = DEFAULT_DUCKDB_MEMORY
    catalog: str = ""
    data_path: str = ""

    @property
    def extensions(self) -> tuple[tuple[str, str], ...]:
        """The extensions (package, name) that attaching this warehouse needs."""
        catalog = POSTGRES if self.catalog.startswith("postgres:") else SQLITE
        return (DUCKLAKE, catalog, HTTPFS) if self._remote_data else (DUCKLAKE, catalog)

    @property
    def data_location(self) -> str:
        """Where the data files are: a folder (ending in /) or a URL."""
        location = self.data_path or str(self.data_dir)
        return location if location.endswith("/") else location + "/"

    @property
    def _remote_data(self) -> bool:
        return "://" in self.data_path

    @property
    def location(self) -> str:
        """Where the catalog is, as messages name it."""
        return self.catalog or str(self.file)

    def exists(self) -> bool:
        """Whether the warehouse was created (its first writer ran)."""
        if not self.catalog:
            return self.file.exists()
        try:
            self._connect(read_only=True).close()
        except duckdb.Error:
            return False
        return True

    @property
    def file(self) -> Path:
        """The catalog file."""
        return Path(self.path).expanduser().resolve()

    @property
    def data_dir(self) -> Path:
        """The data files' folder, unless data_path places them elsewhere."""
        if self.data_path and not self._remote_data:
            return Path(self.data_path).expanduser().resolve()
        return self.file.with_name(self.file.stem + ".data")

    @property
    def parts_dir(self) -> Path:
        return self.file.with_name(self.file.stem + ".parts")

    def part_path(self, dump_id: str) -> Path:
        return self.parts_dir / part_file_name(dump_id)

    @property
    def report_path(self) -> Path:
        """The corpus report, rebuilt next to the warehouse on every publish."""
        return self.file.with_name(self.file.stem + "_report.html")

    @property
    def checks_folder(self) -> Path:
        """The checks page of this warehouse (index.html) and the results it shows."""
        return self.file.with_name(self.file.stem + "_checks")

    @property
    def checks_page(self) -> Path:
        return self.checks_folder / "index.html"

    def attach_statement(self, read_only: bool = True, snapshot: int | None = None) -> str:
        """The ATTACH statement of this warehouse, for any DuckDB with its `extensions` loaded.
        The data path is given every time, so the folder can move."""
        options = [f"DATA_PATH {sql_literal(self.data_location)}", "OVERRIDE_DATA_PATH true"]
        if read_only:
            options.append("READ_ONLY")
        elif not self.catalog:
            options.append("META_JOURNAL_MODE 'WAL'")
        if snapshot is not None:
            options.append(f"SNAPSHOT_VERSION {int(snapshot)}")
        return f"ATTACH {sql_literal('ducklake:' + (self.catalog or 'sqlite:' + str(self.file)))} AS {CATALOG} ({', '.join(options)})"

    @contextmanager
    def exclusive_run(self) -> Iterator[None]:
        """Held by `newsdesk run` from its start to its end: a second run on the same warehouse
        refuses at once instead of interleaving its dumps with the first one's."""
        lock = FileLock(str(self.file) + ".run.lock")
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            lock.acquire(timeout=0)
        except Timeout as error:
            raise WarehouseUnavailable(f"another newsdesk run is working on {self.file}: wait for it to end") from error
        except OSError as error:
            raise WarehouseUnavailable(f"cannot write next to {self.file}: {error.strerror or error}") from error
        try:
            yield
        finally:
            lock.release()

    @contextmanager
    def writer(self, waiting: Callable[[str], None] = lambda message: None) -> Iterator[duckdb.DuckDBPyConnection]:
        """The one writing connection, with the warehouse attached and in use, its tables and
        views created if missing. What the caller commits is one snapshot; what it does not
        commit (an error, a kill) leaves the warehouse as it was. The file lock keeps writers
        one at a time across processes; `waiting` hears it when another writer holds it."""
        self.check_catalog()
        lock = FileLock(str(self.file) + ".lock")
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            try:
                lock.acquire(timeout=0)
            except Timeout:
                waiting(
                    f"waiting for another writer of {self.file} (a publish or maintenance) to finish; "
                    f"giving up after {self.lock_timeout_seconds:.0f} s (lock_timeout_seconds)"
                )
                lock.acquire(timeout=self.lock_timeout_seconds)
        except Timeout as error:
            raise WarehouseUnavailable(
                f"another writer has held {self.file} for over {self.lock_timeout_seconds:.0f} s (lock_timeout_seconds): "
                "nothing was written"
            ) from error
        except OSError as error:
            raise WarehouseUnavailable(f"cannot write next to {self.file}: {error.strerror or error}") from error
        try:
            try:
                if not self._remote_data:
                    self.data_dir.mkdir(parents=True, exist_ok=True)
                connection = self._connect(read_only=False)
            except (OSError, duckdb.Error) as error:
                raise WarehouseUnavailable(f"cannot open {self.location} for writing: {error}") from error
            try:
                _set_missing_options(connection)
                yield connection
            finally:
                connection.close()
        finally:
            lock.release()

    @contextmanager
    def reader(self, snapshot: int | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection with the warehouse in use: its newest snapshot, or `snapshot`."""
        if not self.catalog and not self.file.exists():
            raise WarehouseUnavailable(f"no warehouse at {self.file}: run `newsdesk run` first")
        self.check_catalog()
        try:
            connection = self._connect(read_only=True, snapshot=snapshot)
        except duckdb.Error as error:
            raise WarehouseUnavailable(f"cannot open warehouse {self.location}: {_first_line(error)}") from error
        try:
            yield connection
        finally:
            connection.close()

    @property
    def spill_dir(self) -> Path:
        """Where DuckDB spills what does not fit in its memory limit (removed when done)."""
        return self.file.with_name(self.file.stem + ".spill")

    def _connect(self, read_only: bool, snapshot: int | None = None) -> duckdb.DuckDBPyConnection:
        connection = connect_with_extensions(self.extensions)
        try:
            configure_connection(connection, self.duckdb_memory_limit)
            # An in-memory database would spill into the working folder, wherever that is.
            connection.execute(f"SET temp_directory = {sql_literal(str(self.spill_dir))}")
            if self.data_path.startswith("s3://"):
                _create_s3_secret(connection)
            connection.execute(self.attach_statement(read_only, snapshot))
            connection.execute(f"USE {CATALOG}")
        except BaseException:
            connection.close()
            raise
        return connection

    def check_catalog(self) -> None:
        """Refuse, with one line, a file that is not a SQLite catalog (a DuckDB-file warehouse
        of an earlier newsdesk, say) before DuckDB tries to read it as one."""
        if self.catalog:
            return
        try:
            with open(self.file, "rb") as file:
                header = file.read(16)
        except (FileNotFoundError, NotADirectoryError):  # none yet: the writer creates it, or says why not
            return
        except OSError as error:
            raise WarehouseUnavailable(f"cannot read warehouse {self.file}: {error.strerror or error}") from error
        if header and header != b"SQLite format 3\x00":
            raise WarehouseUnavailable(
                f"{self.file} is not a newsdesk warehouse (a DuckLake catalog in SQLite): "
                "give --warehouse a new path, and the next run builds it there"
            )


def create_tables(connection: duckdb.DuckDBPyConnection) -> None:
    """The contract's tables and the publish's bookkeeping, where missing."""
    connection.execute(read_sql("schema.sql"))
    connection.execute(read_sql("publish/meta.sql"))


def create_views(connection: duckdb.DuckDBPyConnection) -> None:
    """The views of sql/views.sql, as this version defines them (a publish that changes data
    recreates them in its snapshot)."""
    connection.execute(read_sql("views.sql"))


def connect_with_extensions(
    extensions: tuple[tuple[str, str], ...] = (DUCKLAKE, SQLITE), database: str = ":memory:"
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with these extensions loaded from their packages, and every
    automatic install or load off: no query can make DuckDB fetch anything from the network."""
    files = [extension_file(package, name) for package, name in extensions]
    for path in files:
        _check_signature(path, _file_identity(path))
    # The files' signatures are checked above, once per process; DuckDB would check them again
    # at every load (0.14 s of hashing for ducklake and sqlite, on every connection).
    connection = duckdb.connect(database, config={**_NO_AUTOMATIC_EXTENSIONS, "allow_unsigned_extensions": True})
    try:
        for path in files:
            connection.execute(f"LOAD {sql_literal(str(path))}")
        # Off again for good (DuckDB refuses to turn it back on): any other LOAD is checked.
        connection.execute("SET allow_unsigned_extensions = false")
    except BaseException:
        connection.close()
        raise
    return connection


def _file_identity(path: Path) -> tuple[int, ...]:
    """What changes when a file is replaced or rewritten (not its access time, which reading it
    may change)."""
    stat = path.stat()
    return stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns


@cache
def _check_signature(path: Path, identity: tuple[int, ...]) -> None:
    """Load the extension file once with DuckDB's signature check: it raises on a file that
    is not DuckDB's. `identity` makes a file replaced or rewritten since then checked anew."""
    with duckdb.connect(config=_NO_AUTOMATIC_EXTENSIONS) as connection:
        connection.execute(f"LOAD {sql_literal(str(path))}")


def extension_file(package: str, name: str) -> Path:
    """The .duckdb_extension file that a duckdb-extension-* package installs for this DuckDB."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise WarehouseUnavailable(f"the {package} package is missing: reinstall newsdesk (make run installs it)")
    folder = Path(next(iter(spec.submodule_search_locations)))
    path = folder / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    if not path.exists():
        raise WarehouseUnavailable(f"{package} has no extension for DuckDB {duckdb.__version__}: reinstall newsdesk")
    return path


def configure_connection(connection: duckdb.DuckDBPyConnection, memory_limit: str = DEFAULT_DUCKDB_MEMORY) -> None:
    """DuckDB settings of every warehouse connection: bounded memory (spilling to the
    database's temporary folder beyond it), and no insertion order to keep, which lets large
    inserts stream instead of buffering."""
    connection.execute(f"SET memory_limit = {sql_literal(memory_limit)}")
    connection.execute("SET preserve_insertion_order = false")


def _create_s3_secret(connection: duckdb.DuckDBPyConnection) -> None:
    """The S3 secret of this connection, from the AWS_* variables that are set; a plain
    http:// endpoint (a server on the same network) is addressed by path, as MinIO expects."""
    values = {key: os.environ[variable] for key, variable in _S3_SECRET.items() if os.environ.get(variable)}
    endpoint = values.get("ENDPOINT", "")
    if endpoint.startswith(("http://", "https://")):
        values["ENDPOINT"] = endpoint.split("://", 1)[1].rstrip("/")
        if endpoint.startswith("http://"):
            values.update(USE_SSL="false", URL_STYLE="path")
    options = ", ".join(f"{key} {sql_literal(value)}" for key, value in values.items())
    connection.execute(f"CREATE OR REPLACE SECRET newsdesk_s3 (TYPE s3{', ' + options if options else ''})")


def sql_literal(text: str) -> str:
    """A SQL string literal. Settings are written as literals, not bound as parameters: binding
    one makes DuckDB import pandas, 0.3 s of a `newsdesk sql` that needs none of it."""
    return "'" + text.replace("'", "''") + "'"


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
