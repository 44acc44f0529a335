"""`newsdesk run`: the runs the daemon would launch for a dumps folder, launched now.

It decides what needs work with the same rule as the dumps-folder sensor (newsdesk.work),
then executes the same jobs with Dagster's `execute_job`, with the executor each job defines:
one ingest run per dump that needs parsing, each in a run-worker process as the daemon's run
launcher starts them, at most `workers` at a time; then the publish run, in this process,
which imported Great Expectations while it waited for the parse runs. What it reports comes
from the runs' results and from the warehouse itself.
"""

from __future__ import annotations

import ctypes
import gc
import multiprocessing
import os
import signal
import sys
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import duckdb
from dagster._core.errors import DagsterExecutionInterruptedError
from dagster._core.instance.ref import InstanceRef

from assets.keys import (
    CHECKS_OP,
    CORPUS_REPORT,
    DUMPS_PARTITIONS,
    INGEST_JOB,
    MAINTENANCE_JOB,
    MAINTENANCE_OP,
    PARSED_DUMP,
    PUBLISH_JOB,
    WAREHOUSE_TABLES_OP,
)
from assets.partitions import last_parses, remove_dump_partitions
from newsdesk.contents import WarehouseContents, warehouse_contents
from newsdesk.parsing import pages_read, part_file_is_current, part_file_rows
from newsdesk.periodic import repeated
from newsdesk.publish import plan_publish
from newsdesk.readers import Dump, discover_dumps
from newsdesk.removals import RemovalPolicy, check_removals, check_replacements, warehouse_origin
from newsdesk.snapshots import current_snapshot
from newsdesk.warehouse import Warehouse, WarehouseUnavailable
from newsdesk.work import plan_dumps_work

# The summary reports outcomes and first error lines; the run's events, tracebacks
# included, stay in the Dagster instance for the UI.
_QUIET_CONSOLE = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


@dataclass
class RunOutcome:
    warehouse: Path
    dumps: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # entries that are not dumps, and why
    unchanged: list[str] = field(default_factory=list)  # dumps not parsed again: same content as last time
    removed: list[str] = field(default_factory=list)  # dumps gone from the folder, and so from the warehouse
    published: bool = True  # False: the warehouse held every dump as it is, so no publish ran
    contents: WarehouseContents | None = None  # the warehouse after the publish
    snapshot: int | None = None  # the warehouse's newest snapshot after the publish
    report: Path | None = None
    checks_page: Path | None = None
    checks_run: int = 0
    failed_checks: list[str] = field(default_factory=list)  # "table: check (severity)" of the publish run
    failures: dict[str, str] = field(default_factory=dict)  # what failed: its first error line

    @property
    def succeeded(self) -> bool:
        return not self.failures


@dataclass(frozen=True)
class Progress:
    """Where `newsdesk run` is, for its progress display."""

    phase: str  # "planning", "parsing" or "publishing"
    step: str = ""  # what the phase is doing now: the dumps being parsed, the publish's step
    pages: int = 0  # pages parsed so far
    expected_pages: int | None = None  # pages to parse in all, once every dump's count is known or estimated
    dumps_done: int = 0
    dumps: int = 0


def run_pipeline(
    dumps: Path,
    warehouse: Warehouse,
    instance: dg.DagsterInstance,
    workers: int = 2,
    progress: Callable[[Progress], None] = lambda progress: None,
    allow_removals: bool = False,
    always_publish: bool = False,
) -> RunOutcome:
    """Parse every dump of the folder that needs it, then publish the warehouse, unless it
    already holds every dump as it is (and `always_publish` is off): the publish would change
    nothing, and its checks and report describe it already. The definitions must read the same
    dumps folder and warehouse (the CLI sets their variables).

    Raises RemovalRefused, before any work, if the publish would remove dumps it may not
    (newsdesk.removals): the publish would refuse the same, after the parsing."""
    progress(Progress("planning", f"listing {dumps}"))
    listing = discover_dumps(dumps)
    try:
        with warehouse.reader() as connection:
            built_from, loaded = warehouse_origin(connection)
    except WarehouseUnavailable:  # none yet: the publish asks the same question
        built_from, loaded = None, []
    present = [dump.dump_id for dump in listing.dumps]
    check_removals(built_from, dumps, loaded, present, RemovalPolicy(allow=allow_removals))
    outcome = RunOutcome(
        warehouse=warehouse.file, dumps=[dump.dump_id for dump in listing.dumps], skipped=listing.skipped
    )
    instance_ref = instance.get_ref()
    tags = {_LAUNCHED_BY: uuid.uuid4().hex}
    try:
        # A run worker starts now and imports the definitions while the dumps are planned (a
        # stat of every file of a folder dump): a second or two each, on two cores.
        with _run_workers(workers) as run_workers:
            progress(Progress("planning", f"comparing {len(listing.dumps)} dumps with their last parse"))
            known = set(instance.get_dynamic_partitions(DUMPS_PARTITIONS))
            parses = last_parses(instance, outcome.dumps)
            work = plan_dumps_work(
                listing.dumps,
                known,
                {dump_id: parse.signature for dump_id, parse in parses.items()},
                lambda dump_id: part_file_is_current(warehouse.part_path(dump_id)),
            )
            check_replacements(built_from, dumps, set(work.to_parse) & set(loaded), RemovalPolicy(allow=allow_removals))
            if work.new:
                instance.add_dynamic_partitions(DUMPS_PARTITIONS, work.new)
            if work.removed:
                remove_dump_partitions(instance, work.removed)
            outcome.unchanged, outcome.removed = work.up_to_date, work.removed
            outcome.published = bool(always_publish or work.to_parse or work.removed) or not _holds_every_dump(
                warehouse, dumps, outcome.dumps
            )
            if not outcome.published:
                _describe_warehouse(warehouse, outcome)
                return outcome
            # The publish runs here, once the parse runs are done. This process, which only waits
            # for them, imports what the publish's checks need (Great Expectations: 2.5 s, 216 MB)
            # once a worker has no run left: on a free core, and not beside two parsing workers,
            # where the process tree peaks.
            warm_up = threading.Thread(target=_import_publish_libraries, name="newsdesk-warm-up", daemon=True)
            if work.to_parse:
                to_parse = [dump for dump in listing.dumps if dump.dump_id in work.to_parse]
                _parse(to_parse, run_workers, instance, tags, warehouse, outcome, progress, warm_up.start)
            else:
                warm_up.start()
    except KeyboardInterrupt:
        # The runs whose workers were stopped would otherwise show as started for ever.
        for run in instance.get_runs(filters=dg.RunsFilter(tags=tags, statuses=[dg.DagsterRunStatus.STARTED])):
            instance.report_run_canceled(run, message="newsdesk run was interrupted (Ctrl-C)")
        raise RunInterrupted("interrupted while parsing: nothing was published (the next run parses what is left)") from None
    progress(Progress("publishing", "starting"))
    warm_up.join()  # one import at a time: two threads importing one package can meet half-initialised modules
    publish_config = {**_QUIET_CONSOLE, "ops": {WAREHOUSE_TABLES_OP: {"config": {"allow_removals": allow_removals}}}}
    before = _latest_snapshot(warehouse)
    try:
        with _following(_RunLogs(instance, PUBLISH_JOB, tags), progress):
            result = _execute(instance_ref, PUBLISH_JOB, publish_config, tags)
        if result.interrupted:  # Dagster ended the run as interrupted rather than raising
            raise KeyboardInterrupt
    except (KeyboardInterrupt, DagsterExecutionInterruptedError):
        # Snapshot 0 is the empty lake its first writer creates: no publish made it.
        if (_latest_snapshot(warehouse) or 0) == (before or 0):
            raise RunInterrupted("interrupted while publishing: nothing was published") from None
        raise RunInterrupted(
            "interrupted after the publish: the warehouse holds every dump of this run, and its checks may not have run"
        ) from None
    if result.error:
        outcome.failures["publish"] = result.error
    outcome.checks_run = result.checks_run
    outcome.failed_checks = result.failed_checks
    _describe_warehouse(warehouse, outcome)
    return outcome


def _holds_every_dump(warehouse: Warehouse, dumps: Path, dump_ids: list[str]) -> bool:
    """Whether the warehouse was last published from this folder, holds every dump's current
    partition file and nothing else, and has its report: a publish would change nothing."""
    part_files = {dump_id: warehouse.part_path(dump_id) for dump_id in dump_ids}
    if not warehouse.report_path.exists() or not all(path.exists() for path in part_files.values()):
        return False
    try:
        with warehouse.reader() as connection:
            built_from, _ = warehouse_origin(connection)
            plan = plan_publish(connection, part_files)
    except (WarehouseUnavailable, ValueError):  # none yet; partition files of an older version
        return False
    return built_from == str(dumps.expanduser().resolve()) and not (plan.loaded or plan.removed)


def _describe_warehouse(warehouse: Warehouse, outcome: RunOutcome) -> None:
    """What the summary shows of the warehouse: its contents, snapshot, report and checks page."""
    try:
        with warehouse.reader() as connection:
            outcome.contents = warehouse_contents(connection)
            outcome.snapshot = current_snapshot(connection)
    except WarehouseUnavailable:  # the first publish failed: there is no warehouse
        outcome.contents = None
    except duckdb.Error as error:  # a data file damaged by hand, say
        outcome.failures["reading the warehouse"] = str(error).splitlines()[0]
    outcome.report = warehouse.report_path if warehouse.report_path.exists() else None
    outcome.checks_page = warehouse.checks_page if warehouse.checks_page.exists() else None


def run_maintenance(instance: dg.DagsterInstance, config: dict) -> str:
    """Run the maintenance job, as its schedule does, with `config` (MaintenanceConfig's
    fields); what it did, in one line. Raises MaintenanceFailed with the first error line."""
    run_config = {**_QUIET_CONSOLE, "ops": {MAINTENANCE_OP: {"config": config}}}
    with dg.execute_job(_job(MAINTENANCE_JOB), instance=instance, run_config=run_config) as result:
        if not result.success:
            raise MaintenanceFailed(_first_error(result))
        outputs = [e for e in result.all_events if e.is_successful_output]
        return outputs[0].step_output_data.metadata["summary"].value


class MaintenanceFailed(Exception):
    """The maintenance run failed: the first line of its error."""


def _parse(
    to_parse: list[Dump], workers: _RunWorkers, instance: dg.DagsterInstance, tags: dict[str, str],
    warehouse: Warehouse, outcome: RunOutcome, progress: Callable[[Progress], None],
    when_a_worker_is_free: Callable[[], None],
) -> None:
    """Run the parse run of each dump on the run workers, in order, recording failures in the
    outcome, and call `when_a_worker_is_free` once, when fewer runs are left than workers.
    Progress counts the pages each run's log reports, as the UI shows them."""
    # The parallel runs share the cores: each parses as many batches at once as it has cores.
    threads = max(1, (os.cpu_count() or 1) // min(workers.count, len(to_parse)))
    parse_config = {**_QUIET_CONSOLE, "ops": {PARSED_DUMP.to_python_identifier(): {"config": {"threads": threads}}}}
    instance_ref, logs = instance.get_ref(), _RunLogs(instance, INGEST_JOB, tags)
    parsed: dict[str, int] = {}  # dump_id -> its pages, once parsed
    reading: dict[str, int] = {}  # dump_id -> pages read so far, of the dumps being parsed
    waiting = deque(to_parse)
    running: dict[Future, tuple[Dump, ProcessPoolExecutor]] = {}

    def run_tags(dump: Dump) -> dict[str, str]:
        return {"dagster/partition": dump.dump_id, **tags}

    def launch() -> None:
        while waiting and (worker := workers.take()) is not None:
            dump = waiting.popleft()
            running[worker.submit(_execute, instance_ref, INGEST_JOB, parse_config, run_tags(dump))] = (dump, worker)

    with _ctrl_c_as_event() as interrupted:
        launch()
        # Counted once the runs are on their way: for a folder dump, a listing of its files.
        expected = {dump.dump_id: dump.expected_pages for dump in to_parse}
        free_worker_told = False
        while running:
            finished, _ = wait(running, timeout=_PROGRESS_SECONDS, return_when=FIRST_COMPLETED)
            if interrupted.is_set():
                raise KeyboardInterrupt
            for future in finished:
                dump, worker = running.pop(future)
                result = _run_result(future)
                if result.worker_died:
                    workers.discard(worker)
                    _fail_started_run(instance, run_tags(dump), result.error)
                else:
                    workers.give_back(worker, runs_left=bool(waiting))
                reading.pop(dump.dump_id, None)
                if result.error:
                    outcome.failures[f"parse {dump.dump_id}"] = result.error
                    parsed[dump.dump_id] = 0
                else:
                    parsed[dump.dump_id] = part_file_rows(warehouse.part_path(dump.dump_id))
            launch()
            if not free_worker_told and not waiting and len(running) < workers.count:  # the last pass, at the latest
                when_a_worker_is_free()
                free_worker_told = True
            for dump_id, _, message in logs.new_lines():
                if dump_id not in parsed and (pages := pages_read(message)) is not None:
                    reading[dump_id] = pages
            progress(
                Progress(
                    "parsing",
                    ", ".join(reading),
                    sum(parsed.values()) + sum(reading.values()),
                    _expected_pages(to_parse, expected, parsed),
                    len(parsed),
                    len(to_parse),
                )
            )


def _run_result(future: Future) -> RunResult:
    """The result of a run executed on a run worker, or the failure of one whose worker died
    (the kernel killed it for memory, say): that dump is not parsed, the others go on."""
    try:
        return future.result()
    except BrokenProcessPool:
        return RunResult(
            "its run worker stopped during the run (killed, or out of memory: the system log says which); "
            "the dump is not parsed, and the next run parses it again",
            worker_died=True,
        )


def _fail_started_run(instance: dg.DagsterInstance, tags: dict[str, str], message: str) -> None:
    """Mark failed the run of these tags that its dead worker left as started (the UI would
    show it running for ever)."""
    for run in instance.get_runs(filters=dg.RunsFilter(tags=tags, statuses=[dg.DagsterRunStatus.STARTED])):
        instance.report_run_failed(run, message=message)


_PROGRESS_SECONDS = 1.0  # how often the runs' logs are read for progress: a parse batch takes longer


def _expected_pages(dumps: list[Dump], expected: dict[str, int | None], parsed: dict[str, int]) -> int | None:
    """The pages of these dumps: those parsed, and for the others the count known before
    reading (folder, Parquet, zip) or estimated from the pages per byte of the dumps of the same
    format parsed so far; None until every dump has one."""
    pages_per_byte: dict[str, tuple[int, int]] = {}
    # Only the formats of dumps without a count need a density (a folder's size is a stat of each file).
    uncounted = {dump.format for dump in dumps if dump.dump_id not in parsed and expected[dump.dump_id] is None}
    for dump in dumps:
        # A dump whose parse failed says nothing of its format's density.
        if dump.format in uncounted and parsed.get(dump.dump_id):
            pages, size = pages_per_byte.get(dump.format, (0, 0))
            pages_per_byte[dump.format] = (pages + parsed[dump.dump_id], size + dump.size_bytes)
    total = 0
    for dump in dumps:
        if dump.dump_id in parsed:
            total += parsed[dump.dump_id]
        elif expected[dump.dump_id] is not None:
            total += expected[dump.dump_id]
        elif dump.format in pages_per_byte and pages_per_byte[dump.format][1]:
            pages, size = pages_per_byte[dump.format]
            total += round(dump.size_bytes * pages / size)
        else:
            return None
    return total


class _RunLogs:
    """The log lines of the runs of a job launched with `tags`, read from the instance's event log as
    the UI reads it: each line once."""

    def __init__(self, instance: dg.DagsterInstance, job_name: str, tags: dict[str, str]) -> None:
        self.instance, self.job_name, self.tags = instance, job_name, tags
        self.cursors: dict[str, str | None] = {}

    def new_lines(self, started_only: bool = True) -> list[tuple[str, str, str]]:
        """(partition, or job for a run without one; step; message, or "" for the step's
        start) of the lines logged since the last call, in order, by the runs started now (or
        by every run of the tags)."""
        statuses = [dg.DagsterRunStatus.STARTED] if started_only else None
        lines = []
        runs = dg.RunsFilter(job_name=self.job_name, tags=self.tags, statuses=statuses)
        for run in self.instance.get_runs(filters=runs):
            records = self.instance.get_records_for_run(run.run_id, cursor=self.cursors.get(run.run_id))
            self.cursors[run.run_id] = records.cursor
            key = run.tags.get("dagster/partition", run.job_name)
            for record in records.records:
                entry = record.event_log_entry
                if entry.dagster_event is None and entry.user_message:
                    lines.append((key, entry.step_key or "", entry.user_message))
                elif entry.is_dagster_event and entry.dagster_event_type == dg.DagsterEventType.STEP_START:
                    lines.append((key, entry.step_key or "", ""))
        return lines


@contextmanager
def _following(logs: _RunLogs, progress: Callable[[Progress], None]) -> Iterator[None]:
    """Report each step of the publish run, and what it logs, while the block executes it."""

    def report(started_only: bool) -> None:
        for _, step, message in logs.new_lines(started_only):
            name = _PUBLISH_STEPS.get(step, step)
            progress(Progress("publishing", f"{name}: {message}" if message else name))

    try:
        with repeated(_PROGRESS_SECONDS, lambda: report(started_only=True), "newsdesk-progress"):
            yield
    finally:
        report(started_only=False)  # what the run logged since the last look


# The publish job's steps, as the progress names them.
_PUBLISH_STEPS = {WAREHOUSE_TABLES_OP: "tables", CHECKS_OP: "checks", CORPUS_REPORT.to_python_identifier(): "report"}


@contextmanager
def _ctrl_c_as_event() -> Iterator[threading.Event]:
    """Ctrl-C sets the event instead of raising where it lands: a KeyboardInterrupt raised inside
    a finaliser or a library's callback is swallowed, and the run would go on."""
    interrupted = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: interrupted.set())
    try:
        yield interrupted
    finally:
        signal.signal(signal.SIGINT, previous)


def _latest_snapshot(warehouse: Warehouse) -> int | None:
    """The newest snapshot: a publish that committed made a new one."""
    try:
        with warehouse.reader() as connection:
            return current_snapshot(connection)
    except WarehouseUnavailable:  # none yet
        return None


# Tags the parse runs of one `newsdesk run`, so that an interrupted one can mark them canceled.
_LAUNCHED_BY = "newsdesk/launched_by"


class RunInterrupted(Exception):
    """Ctrl-C stopped `newsdesk run`; the message says what was published."""


@dataclass(frozen=True)
class RunResult:
    """What a run hands back, from a run worker: plain values, which pickle."""

    error: str | None  # the first error line of a failed run
    interrupted: bool = False  # Ctrl-C stopped the run
    checks_run: int = 0
    failed_checks: list[str] = field(default_factory=list)  # "table: check (severity)"
    worker_died: bool = False  # the process executing the run ended during it


class _RunWorkers:
    """Up to `count` processes that execute runs, one at a time each, as the daemon's run
    launcher starts one per run, each kept for several runs. The first starts at once (it
    imports the definitions while the dumps are planned); the others start with the runs that
    need them. Spawned, not forked: polars' and DuckDB's threads do not survive a fork, and a
    spawned process loads the definitions with this process's settings. A worker with no run
    left for it exits at once: the memory its parses held (polars keeps what it freed, for
    reuse) is not kept beside the last parse runs and the publish."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.context = multiprocessing.get_context("spawn")
        self.started: list[ProcessPoolExecutor] = []
        self.free: list[ProcessPoolExecutor] = []
        first = self.take()
        self.first_imported = first.submit(int)  # a worker process starts with its first task
        self.free.append(first)

    def take(self) -> ProcessPoolExecutor | None:
        """A worker with no run, started now if fewer than `count` are; None if every one has a run."""
        if self.free:
            return self.free.pop()
        if len(self.started) == self.count:
            return None
        # One process each: a pool of several cannot let one of them go while the others work.
        worker = ProcessPoolExecutor(
            max_workers=1, mp_context=self.context, initializer=_start_worker, initargs=(os.getpid(),)
        )
        self.started.append(worker)
        return worker

    def give_back(self, worker: ProcessPoolExecutor, runs_left: bool) -> None:
        """The worker's run is over: it takes another, or, if no run is left, exits."""
        if runs_left:
            self.free.append(worker)
        else:
            worker.shutdown(wait=False)

    def discard(self, worker: ProcessPoolExecutor) -> None:
        """A worker whose process died: a run that needs one starts another."""
        self.started.remove(worker)
        worker.shutdown(wait=False)

    def stop(self) -> None:
        """Kill the workers, whatever they execute, and cancel what they have not started."""
        for process in multiprocessing.active_children():
            process.kill()
        self.shutdown(cancel_futures=True)

    def shutdown(self, cancel_futures: bool = False) -> None:
        for worker in self.started:
            worker.shutdown(wait=True, cancel_futures=cancel_futures)


@contextmanager
def _run_workers(count: int) -> Iterator[_RunWorkers]:
    """Run workers for the block. A worker dies with the process that started it (Linux), so a
    killed `newsdesk run` leaves no worker parsing on; an interrupted one (Ctrl-C) starts none
    of the runs still waiting. Workers that ran nothing are stopped, not waited for (the first
    may still be importing)."""
    workers = _RunWorkers(count)
    try:
        yield workers
    except KeyboardInterrupt:
        # Workers are in a process group of their own, out of Ctrl-C's reach: they are stopped
        # here. A partition file is whole or absent, whenever its writer stops.
        workers.stop()
        raise
    except BaseException:
        workers.shutdown(cancel_futures=True)
        raise
    if workers.first_imported.done():
        workers.shutdown()
    else:
        workers.stop()


def _start_worker(parent: int) -> None:
    if sys.platform == "linux":
        set_parent_death_signal = 1  # PR_SET_PDEATHSIG
        ctypes.CDLL(None, use_errno=True).prctl(set_parent_death_signal, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died while this process started: no signal will come
        os._exit(1)
    # A process group of its own: a terminal's Ctrl-C reaches the command, which stops the
    # workers, and not the runs inside them (Dagster would report each as interrupted).
    os.setpgid(0, 0)
    # Dagster, polars and GX bring millions of long-lived objects that every full collection
    # walks: at the default thresholds a run makes many, each a noticeable pause.
    gc.set_threshold(10_000, 10, 10)
    import orchestration.definitions  # noqa: F401  (what every run loads)

    gc.freeze()  # what was imported is no garbage: later collections skip it


def _import_publish_libraries() -> None:
    """The publish run's checks need Great Expectations, which takes seconds to import. This
    thread imports it at a lower priority than the parse runs (on Linux a thread has its own)."""
    if sys.platform == "linux":
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    try:
        import great_expectations  # noqa: F401
    except Exception:  # the publish imports it again, and reports what is wrong with it
        return


def _execute(instance_ref: InstanceRef, job_name: str, run_config: dict, tags: dict[str, str]) -> RunResult:
    """Execute one run of the job, with the executor the job defines (in a run worker)."""
    with dg.DagsterInstance.from_ref(instance_ref) as instance:
        try:
            result = dg.execute_job(_job(job_name), instance=instance, run_config=run_config, tags=tags)
        except dg.DagsterError as error:  # the run could not start: its definitions or config are wrong
            return RunResult(_innermost_message(error))
    failed = [
        f"{e.asset_check_key.asset_key.to_user_string()}: {e.asset_check_key.name} ({e.severity.value})"
        for e in result.get_asset_check_evaluations()
        if not e.passed
    ]
    return RunResult(
        None if result.success else _first_error(result),
        _was_interrupted(result),
        len(result.get_asset_check_evaluations()),
        failed,
    )


def _job(name: str):
    """A job of the definitions, as a process that did not load them can rebuild it."""
    return dg.build_reconstructable_job("orchestration.definitions", "job_named", reconstructable_args=(name,))


def _was_interrupted(result: dg.ExecuteJobResult) -> bool:
    """Whether a step failed because of Ctrl-C: the interruption may be wrapped, by DuckDB say,
    when it came while a library ran Python code."""
    interruptions = (DagsterExecutionInterruptedError.__name__, KeyboardInterrupt.__name__)
    for event in result.get_step_failure_events():
        error = event.step_failure_data.error
        while error is not None:
            if error.cls_name in interruptions or any(name in error.message for name in interruptions):
                return True
            error = error.cause
    return False


def _innermost_message(error: BaseException) -> str:
    while error.__cause__ is not None:
        error = error.__cause__
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return " ".join(lines[:3]) or type(error).__name__


def _first_error(result: dg.ExecuteJobResult) -> str:
    for event in result.get_step_failure_events():
        error = event.step_failure_data.error
        if error is not None:
            cause = error
            while cause.cause is not None:
                cause = cause.cause
            line = cause.message.strip().splitlines()[-1]
            # A Failure is the step's own words; other errors keep their class, which says what broke.
            return line.removeprefix(f"{dg.Failure.__module__}.{dg.Failure.__name__}: ")
    return "the run failed"
