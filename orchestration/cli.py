"""`newsdesk`: run the pipeline, query the warehouse, open the Dagster UI."""

from __future__ import annotations

import argparse
import gc
import logging
import os
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from newsdesk.export import FORMATS as EXPORT_FORMATS
from newsdesk.maintenance import MaintenancePolicy
from newsdesk.project import DEFAULT_WAREHOUSE, SAMPLE_DUMPS_DIR
from newsdesk.readers import DEFAULT_MAX_PAGE_BYTES, MOST_MAX_PAGE_BYTES

TABLE_ROWS = 100  # rows a table shows unless --max-rows says otherwise


class CliError(Exception):
    """A problem the user can fix, reported as one line without a traceback."""


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "command"):
        parser.print_help()
        return 2
    try:
        return args.command(args)
    except CliError as error:
        print(f"newsdesk: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("newsdesk: interrupted", file=sys.stderr)
        return 130


def console_main() -> None:
    """The `newsdesk` command: main() with the process's exit status."""
    _configure_process()
    status = main()
    # What is left is freed with the process: freezing skips the interpreter's final garbage
    # collection, which walks every object of Dagster, GX and polars (about a second).
    gc.freeze()
    sys.exit(status)


def _configure_process() -> None:
    """The settings of the command's own process."""
    # Dagster, GX and polars bring a few million long-lived objects, and each full collection
    # walks them all: at the default thresholds a run makes several, about 0.1 s each.
    gc.set_threshold(10_000, 10, 10)
    # Ctrl-C raises wherever the main thread is. In a library's cleanup that logs what it caught
    # before passing it on (SQLAlchemy closing Dagster's SQLite connections), Python's
    # last-resort log handler would print a traceback beside the interruption's one line.
    logging.lastResort.addFilter(_not_an_interruption)


def _not_an_interruption(record: logging.LogRecord) -> bool:
    """Whether a log record is not about an interruption (Ctrl-C, Dagster's interrupted run):
    an exception that is not an error, which the command reports itself."""
    kind = record.exc_info[0] if record.exc_info else None
    return kind is None or issubclass(kind, Exception)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsdesk",
        description="Turn dumps of Maghress-family news pages into a DuckDB warehouse of articles and headlines.",
    )
    commands = parser.add_subparsers(title="commands")
    warehouse = argparse.ArgumentParser(add_help=False)
    warehouse.add_argument(
        "--warehouse",
        type=Path,
        default=Path(os.environ.get("NEWSDESK_WAREHOUSE", DEFAULT_WAREHOUSE)),
        help=f"the DuckDB warehouse file (default: $NEWSDESK_WAREHOUSE or {_shown(DEFAULT_WAREHOUSE)})",
    )
    warehouse.add_argument(
        "--catalog",
        default=os.environ.get("NEWSDESK_CATALOG", ""),
        metavar="DUCKLAKE_METADATA",
        help="keep the catalog elsewhere than in the --warehouse file, for several machines: e.g. "
        "'postgres:dbname=lake host=db' (default: $NEWSDESK_CATALOG or none; docs/deploy.md)",
    )
    warehouse.add_argument(
        "--data-path",
        default=os.environ.get("NEWSDESK_DATA_PATH", ""),
        metavar="FOLDER_OR_URL",
        help="keep the data files elsewhere than next to the catalog: a shared folder, or S3-compatible "
        "storage such as s3://bucket/lake/ (default: $NEWSDESK_DATA_PATH or none; docs/deploy.md)",
    )
    dumps = argparse.ArgumentParser(add_help=False)
    dumps.add_argument(
        "--dumps",
        type=Path,
        default=Path(os.environ.get("NEWSDESK_DUMPS", SAMPLE_DUMPS_DIR)),
        help=f"the folder of dumps (default: $NEWSDESK_DUMPS or the bundled samples, {_shown(SAMPLE_DUMPS_DIR)})",
    )
    dumps.add_argument(
        "--max-page-bytes",
        type=_page_limit,
        # A string default goes through `type` too: a bad $NEWSDESK_MAX_PAGE_BYTES is refused at start.
        default=os.environ.get("NEWSDESK_MAX_PAGE_BYTES", str(DEFAULT_MAX_PAGE_BYTES)),
        help="a page larger than this is rejected as too_large without being read "
        f"(default: $NEWSDESK_MAX_PAGE_BYTES or {DEFAULT_MAX_PAGE_BYTES:,})",
    )

    run = commands.add_parser(
        "run",
        parents=[dumps, warehouse],
        help="materialize every asset for every dump, then print what was built",
        description="Parse every dump under DUMPS (one Dagster partition each) and publish them into the "
        "warehouse, through the same Dagster definitions the UI loads; print pages kept and rejected per "
        "dump and the totals. Dumps no longer in DUMPS leave the warehouse, unless that looks like a "
        "mistake (see --allow-removals). Exit status 1 if a step fails, 2 if the run is refused.",
    )
    run.add_argument(
        "--workers",
        type=_positive_int,
        default=min(2, os.cpu_count() or 1),
        help="dumps parsed at once, each in its own process (default: 2, or 1 on one core)",
    )
    run.add_argument(
        "--allow-removals",
        action="store_true",
        help="take out of the warehouse the dumps missing from DUMPS even if DUMPS is not the folder the "
        "warehouse was built from, or if they are more than half of its dumps (refused otherwise)",
    )
    run.add_argument(
        "--always-publish",
        action="store_true",
        help="publish, check and report even when the warehouse already holds every dump as it is "
        "(after editing a suite in expectations/, say); skipped otherwise",
    )
    run.set_defaults(command=_run)

    sql = commands.add_parser(
        "sql",
        parents=[warehouse],
        help="print the result of a SQL query on the warehouse",
        description="Run SQL on the warehouse (read-only) and print the result of its last statement; "
        "statements are split as DuckDB splits them.",
    )
    sql.add_argument("query", help='the SQL, e.g. "SELECT edition, count(*) FROM articles GROUP BY 1"')
    sql.add_argument(
        "--format",
        choices=("table", *EXPORT_FORMATS),
        default="table",
        help="table (for people, the default), or every row as csv (lists and structs as JSON text), json "
        "(one object per line) or parquet (needs --out)",
    )
    sql.add_argument("--csv", dest="format", action="store_const", const="csv", help="the same as --format csv")
    sql.add_argument("--out", type=Path, metavar="FILE", help="write the result to FILE instead of the screen")
    sql.add_argument(
        "--max-rows",
        type=_row_count,
        help=f"rows to write at most (default: {TABLE_ROWS} for a table, every row for the other formats)",
    )
    sql.add_argument(
        "--allow-files",
        action="store_true",
        help="let the SQL read and write files and URLs (COPY ... TO, read_csv, ...); without it, the "
        "query sees the warehouse and nothing else of the machine",
    )
    sql.add_argument(
        "--at",
        type=_snapshot_id,
        metavar="SNAPSHOT_ID",
        help="query the warehouse as it was at this snapshot (`newsdesk snapshots` lists them)",
    )
    sql.set_defaults(command=_sql)

    snapshots = commands.add_parser(
        "snapshots",
        parents=[warehouse],
        help="list the warehouse's snapshots, one per publish",
        description="List the warehouse's snapshots, newest last: id, time (UTC) and what the publish "
        "changed. `newsdesk sql --at ID` queries one.",
    )
    snapshots.set_defaults(command=_snapshots)

    attach = commands.add_parser(
        "attach",
        parents=[warehouse],
        help="print the SQL that opens the warehouse in any DuckDB 1.5.5 (the CLI, Python, a notebook)",
        description="Print the statements that load DuckLake and its catalog's extension (SQLite, or PostgreSQL "
        "with --catalog) from this installation's packages "
        "(nothing is downloaded) and attach the warehouse read-only as `warehouse`. "
        "`newsdesk attach > attach.sql; .venv/bin/duckdb -init attach.sql` opens it in the DuckDB CLI.",
    )
    attach.set_defaults(command=_attach)

    maintain = commands.add_parser(
        "maintain",
        parents=[warehouse],
        help="expire old snapshots, merge small files and delete unused ones (the weekly job, now)",
        description="Run the maintenance job that the weekly schedule runs: expire the snapshots older than "
        "--expire-older-than-days except the newest --keep-latest, merge small data files, and delete the "
        "files no snapshot has used for --delete-after-hours.",
    )
    policy = MaintenancePolicy()
    maintain.add_argument(
        "--expire-older-than-days", type=float, default=policy.expire_older_than / timedelta(days=1),
        help="snapshots older than this may expire (default: %(default)g)",
    )
    maintain.add_argument(
        "--keep-latest", type=_positive_int, default=policy.keep_latest,
        help="the newest snapshots that never expire (default: %(default)s)",
    )
    maintain.add_argument(
        "--delete-after-hours", type=float, default=policy.delete_after / timedelta(hours=1),
        help="delete a data file once no snapshot has used it for this long (default: %(default)g)",
    )
    maintain.set_defaults(command=_maintain)

    report = commands.add_parser(
        "report",
        parents=[warehouse],
        help="print where the corpus report is (and open it with --open)",
        description="Print the path of the corpus report, the HTML page of charts that every publish "
        "rebuilds next to the warehouse; --open shows it in a browser.",
    )
    report.add_argument("--open", action="store_true", help="open the report in the default browser")
    report.set_defaults(command=_report)

    ui = commands.add_parser(
        "ui",
        parents=[dumps, warehouse],
        help="start the Dagster UI and daemon on 127.0.0.1",
        description="Start the Dagster webserver and daemon (so sensors and schedules tick) on 127.0.0.1, "
        f"with the Dagster instance in {os.environ.get('DAGSTER_HOME') or 'the folder WAREHOUSE.dagster beside the warehouse'}"
        " (DAGSTER_HOME). Ctrl-C stops both.",
    )
    ui.add_argument("--port", type=int, default=3000, help="the port (default: 3000)")
    ui.add_argument(
        "--pages-port",
        type=int,
        help="the port that serves the corpus report and the checks page, which the UI links to (default: PORT + 1)",
    )
    ui.set_defaults(command=_ui)
    return parser


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _warehouse(args: argparse.Namespace):
    from newsdesk.warehouse import Warehouse

    return Warehouse(str(args.warehouse), catalog=args.catalog, data_path=args.data_path)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number")
    return value


def _page_limit(text: str) -> int:
    value = _positive_int(text)
    if value > MOST_MAX_PAGE_BYTES:
        raise argparse.ArgumentTypeError(f"{value:,} is over {MOST_MAX_PAGE_BYTES:,} (1 GiB), the largest page limit")
    return value


def _snapshot_id(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a snapshot id (a whole number)") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is not a snapshot id")
    return value


def _dagster_home(warehouse: Path) -> Path:
    """The Dagster instance of a warehouse, unless DAGSTER_HOME names one: beside it, as its
    data files and partition files are (var/warehouse.dagster/ for var/warehouse.ducklake)."""
    return warehouse.expanduser().resolve().with_suffix(".dagster")


def _configure_environment(args: argparse.Namespace, pages_url: str = "") -> None:
    """The Dagster definitions read their settings from the environment, in this process
    and in every process Dagster starts."""
    from assets.resources import settings_environment

    os.environ.update(
        settings_environment(
            args.dumps, args.warehouse, args.max_page_bytes, args.catalog, args.data_path, pages_url
        )
    )
    # Polars writes its allocator's settings into the environment as it is imported (its own,
    # then those the variable held), and jemalloc takes an option's last value: newsdesk's come
    # last in the run workers and the processes of `dg dev`, which import polars after this.
    name, settings = POLARS_ALLOCATOR_SETTINGS
    held = os.environ.get(name, "")
    if not held.endswith(settings):
        os.environ[name] = f"{held},{settings}" if held else settings
    # One instance per warehouse: its runs, partitions and last parses describe that warehouse
    # only (a shared one made a new warehouse report removing dumps it never had).
    shared = "DAGSTER_HOME" in os.environ  # one the user chose, which other warehouses may name too
    os.environ.setdefault("DAGSTER_HOME", str(_dagster_home(args.warehouse)))
    home = Path(os.environ["DAGSTER_HOME"])
    try:
        home.mkdir(parents=True, exist_ok=True)
        if not (home / "dagster.yaml").exists():
            shutil.copyfile(Path(__file__).with_name("dagster.yaml"), home / "dagster.yaml")
        if shared:
            _claim_dagster_home(home, _warehouse(args))
    except OSError as error:
        raise CliError(f"cannot set up the Dagster instance in {home}: {error.strerror or error}") from None


# Polars' allocator (jemalloc) keeps the memory a batch freed for the next batches for 30 s:
# with polars' own settings it handed it back to the system after half a second, from
# background threads, and a run worker faulted it in again, zeroed, batch after batch. One
# arena instead of jemalloc's four per core: each kept its own freed memory, about 70 MB more in
# a run worker at its peak (docs/scaling.md has the figures).
POLARS_ALLOCATOR_SETTINGS = ("_RJEM_MALLOC_CONF", "background_thread:false,dirty_decay_ms:30000,muzzy_decay_ms:0,narenas:1")


_HOME_OWNER = "newsdesk_warehouse"  # in a Dagster home: the warehouse whose instance it is


def _claim_dagster_home(home: Path, warehouse) -> None:
    """One Dagster instance per warehouse: a home that holds the runs and partitions of another
    warehouse is refused (they would mix, and two runs creating one instance at once can wedge
    it); a new one is marked as this warehouse's."""
    from filelock import FileLock

    with FileLock(str(home / f".{_HOME_OWNER}.lock")):
        owner_file = home / _HOME_OWNER
        owner = owner_file.read_text(encoding="utf-8") if owner_file.exists() else ""
        if owner and owner != warehouse.location:
            raise CliError(
                f"DAGSTER_HOME {home} is the Dagster instance of the warehouse {owner}: give {warehouse.location} "
                f"its own (unset DAGSTER_HOME for the one beside it), or delete {owner_file} if that warehouse moved"
            )
        if not owner:
            owner_file.write_text(warehouse.location, encoding="utf-8")


def _run(args: argparse.Namespace) -> int:
    from orchestration.progress import ProgressDisplay

    _check_dumps_folder(args.dumps)
    with ProgressDisplay() as display:
        display.starting("loading Dagster and the definitions")
        import dagster as dg

        from newsdesk.removals import RemovalRefused
        from newsdesk.warehouse import WarehouseUnavailable
        from orchestration.runner import RunInterrupted, run_pipeline

        _configure_environment(args)
        warehouse = _warehouse(args)
        try:
            warehouse.check_catalog()
            with warehouse.exclusive_run(), dg.DagsterInstance.get() as instance:
                outcome = run_pipeline(
                    args.dumps,
                    warehouse,
                    instance,
                    workers=args.workers,
                    progress=display.show,
                    allow_removals=args.allow_removals,
                    always_publish=args.always_publish,
                )
        except (RemovalRefused, WarehouseUnavailable) as error:
            raise CliError(str(error)) from error
        except RunInterrupted as interrupted:
            interruption = str(interrupted)
        else:
            interruption = None
    if interruption is not None:
        print(f"newsdesk: {interruption}", file=sys.stderr)
        return 130
    from orchestration.summary import print_summary

    print_summary(outcome)
    return 0 if outcome.succeeded else 1


def _check_dumps_folder(dumps: Path) -> None:
    if dumps.exists() and not dumps.is_dir():
        raise CliError(
            f"--dumps takes the folder that holds the dumps, and {dumps} is a file: give {_shown(dumps.parent)}"
        )
    if not dumps.is_dir():
        raise CliError(f"dumps folder not found: {dumps}")


def _row_count(text: str) -> int:
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        raise argparse.ArgumentTypeError(f"expected a number of rows, 1 or more, not {text!r}")
    return count


def _sql(args: argparse.Namespace) -> int:
    import duckdb

    from newsdesk.sql import statements
    from newsdesk.warehouse import Warehouse, WarehouseUnavailable, sql_literal

    try:
        warehouse = _warehouse(args)
        with warehouse.reader(snapshot=args.at) as connection:
            if not args.allow_files:
                # The warehouse's own data files stay readable; nothing else of the machine is.
                connection.execute(f"SET allowed_directories = [{sql_literal(warehouse.data_location)}]")
                connection.execute("SET enable_external_access = false")
                connection.execute("SET lock_configuration = true")  # the query cannot turn it back on
            *leading, last = statements(args.query) or [None]
            writing = [s for s in (*leading, last) if s is not None and s.type in _writing_files()]
            if writing and not args.allow_files:
                # The warehouse's data folder is readable, and so writable: a COPY there would
                # overwrite the data files every snapshot reads.
                raise CliError(
                    f"{writing[0].type.name} writes files, which newsdesk sql does not without --allow-files "
                    "(or use --format and --out to export a result)"
                )
            for statement in leading:
                connection.execute(statement).fetchall()
            relation = connection.sql(last.query) if last is not None else None
            if relation is None:
                return 0
            if args.format == "table" and args.out is None:
                width = shutil.get_terminal_size().columns
                relation.show(max_rows=args.max_rows or TABLE_ROWS, max_width=width)
                return 0
            rows = _write_result(relation, args)
    except WarehouseUnavailable as error:
        raise CliError(str(error)) from error
    except duckdb.Error as error:  # all of it: DuckDB's "Did you mean" and "Candidate bindings" lines help
        raise CliError(f"query failed: {error}") from error
    if args.out is not None:
        print(f"{rows:,} rows written to {args.out}", file=sys.stderr)
    return 0


def _writing_files():
    import duckdb

    return (duckdb.StatementType.COPY, duckdb.StatementType.EXPORT, duckdb.StatementType.COPY_DATABASE)


def _write_result(relation, args: argparse.Namespace) -> int:
    from newsdesk.export import write_result

    file_format = "csv" if args.format == "table" else args.format  # a table into a file: CSV
    if args.out is None:
        if file_format == "parquet":
            raise CliError("--format parquet writes a file: give --out FILE")
        sys.stdout.flush()
        try:
            return write_result(relation, file_format, sys.stdout.buffer, args.max_rows)
        except OSError as error:  # polars reports a closed pipe as a plain OSError
            if not (isinstance(error, BrokenPipeError) or "Broken pipe" in str(error)):
                raise
            # The reader stopped (`| head`): it had what it wanted. Nothing more reaches it.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
    try:
        with open(args.out, "wb") as out:
            return write_result(relation, file_format, out, args.max_rows)
    except OSError as error:
        raise CliError(f"cannot write {args.out}: {error.strerror or error}") from error


def _snapshots(args: argparse.Namespace) -> int:
    from newsdesk.snapshots import list_snapshots
    from newsdesk.warehouse import Warehouse, WarehouseUnavailable

    try:
        with _warehouse(args).reader() as connection:
            for snapshot in list_snapshots(connection):
                print(f"{snapshot.snapshot_id}\t{snapshot.time:%Y-%m-%d %H:%M:%S}\t{snapshot.summary}")
    except WarehouseUnavailable as error:
        raise CliError(str(error)) from error
    return 0


def _attach(args: argparse.Namespace) -> int:
    from newsdesk.warehouse import CATALOG, WarehouseUnavailable, extension_file

    warehouse = _warehouse(args)
    try:
        for package, name in warehouse.extensions:
            print(f"LOAD '{extension_file(package, name)}';")
    except WarehouseUnavailable as error:
        raise CliError(str(error)) from error
    print(f"{warehouse.attach_statement(read_only=True)};")
    print(f"USE {CATALOG};")
    return 0


def _maintain(args: argparse.Namespace) -> int:
    import dagster as dg

    from newsdesk.warehouse import Warehouse, WarehouseUnavailable
    from orchestration.runner import MaintenanceFailed, run_maintenance

    if args.expire_older_than_days < 0 or args.delete_after_hours < 0:
        raise CliError("--expire-older-than-days and --delete-after-hours cannot be negative")
    args.dumps, args.max_page_bytes = SAMPLE_DUMPS_DIR, DEFAULT_MAX_PAGE_BYTES  # maintenance reads no dump
    _configure_environment(args)
    try:
        _warehouse(args).check_catalog()
        with dg.DagsterInstance.get() as instance:
            summary = run_maintenance(
                instance,
                {
                    "expire_older_than_days": args.expire_older_than_days,
                    "keep_latest": args.keep_latest,
                    "delete_after_hours": args.delete_after_hours,
                },
            )
    except WarehouseUnavailable as error:
        raise CliError(str(error)) from error
    except MaintenanceFailed as error:
        print(f"newsdesk: maintenance failed: {error}", file=sys.stderr)
        return 1
    print(summary)
    return 0


def _report(args: argparse.Namespace) -> int:
    from newsdesk.warehouse import Warehouse

    path = _warehouse(args).report_path
    if not path.exists():
        raise CliError(f"no report at {path} yet: run `newsdesk run` first")
    print(path)
    if args.open:
        import webbrowser

        if not webbrowser.open(path.as_uri()):
            print("newsdesk: no browser to open it with here: open the path above", file=sys.stderr)
            return 1
    return 0


def _ui(args: argparse.Namespace) -> int:
    from newsdesk.pages_server import serve_pages

    _check_dumps_folder(args.dumps)
    pages_port = args.port + 1 if args.pages_port is None else args.pages_port
    try:
        pages_url = serve_pages(_warehouse(args), pages_port)
    except OSError as error:
        raise CliError(f"cannot serve the report on port {pages_port} ({error.strerror}): give --pages-port") from None
    _configure_environment(args, pages_url)
    # Dagster's own `dg dev` (`dagster dev` is superseded), given the module, as the installed
    # wheel has no project folder for it to find.
    dg_command = Path(sys.executable).with_name("dg")
    command = [str(dg_command), "dev", "-m", "orchestration.definitions", "--host", "127.0.0.1", "--port", str(args.port)]
    print(
        f"Dagster UI on http://127.0.0.1:{args.port} (DAGSTER_HOME={os.environ['DAGSTER_HOME']}), the report and "
        f"checks page on {pages_url}; Ctrl-C stops them."
    )
    # Ctrl-C reaches `dg dev` too (the terminal's process group), which stops the webserver
    # and the daemon it started; this process serves the pages until it has.
    interface = subprocess.Popen(command)
    while True:
        try:
            return interface.wait()
        except KeyboardInterrupt:
            continue


if __name__ == "__main__":
    sys.exit(main())
