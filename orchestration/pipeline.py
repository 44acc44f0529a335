"""`newsdesk run`: every dump as a partition run, then the publish run, through the same
Dagster definitions and instance that the UI uses."""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from orchestration.gx_suites import validation_process
from orchestration.partitions import dumps_partitions, parsed_signature
from orchestration.resources import DumpsFolder, Warehouse, settings_from_environment

# The summary reports outcomes and first error lines; the run's events, tracebacks
# included, stay in the Dagster instance for the UI.
_QUIET_CONSOLE = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


@dataclass
class PipelineOutcome:
    warehouse: Path
    dumps: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # entries that are not dumps, and why
    unchanged: list[str] = field(default_factory=list)  # dumps not parsed again: same content as last time
    removed: list[str] = field(default_factory=list)  # dumps gone from the folder, and so from the warehouse
    tables: dict[str, dict] = field(default_factory=dict)  # table -> metadata of its last materialization
    report: str | None = None  # the corpus report's path
    checks_run: int = 0
    failed_checks: list[str] = field(default_factory=list)  # "table: check (severity)" of the publish run
    failures: dict[str, str] = field(default_factory=dict)  # what failed: its first error line

    @property
    def succeeded(self) -> bool:
        return not self.failures


def sync_partitions(instance: dg.DagsterInstance, dump_ids: list[str]) -> tuple[list[str], list[str]]:
    """Make the dumps partitions match the dumps folder; returns (added, removed)."""
    known = set(instance.get_dynamic_partitions(dumps_partitions.name))
    added = [d for d in dump_ids if d not in known]
    removed = sorted(known - set(dump_ids))
    if added:
        instance.add_dynamic_partitions(dumps_partitions.name, added)
    for dump_id in removed:
        instance.delete_dynamic_partition(dumps_partitions.name, dump_id)
    return added, removed


def run_pipeline(progress: Callable[[str], None] | None = None, workers: int = 2) -> PipelineOutcome:
    """Parse every dump whose content changed since its last parse (up to `workers` at a
    time, each a partition run), then publish the warehouse. Meanwhile a process imports
    Great Expectations for the checks of the publish run, and a thread copies the warehouse
    for the publish to write its new version in."""
    warehouse = Warehouse(path=settings_from_environment()["warehouse"])
    with validation_process(), warehouse.copy_ahead():
        return _run_pipeline(progress, workers)


def _run_pipeline(progress: Callable[[str], None] | None, workers: int) -> PipelineOutcome:
    from assets.parsed_dump import part_file_is_current
    from orchestration.definitions import defs

    settings = settings_from_environment()
    listing = DumpsFolder(path=settings["dumps"]).listing()
    outcome = PipelineOutcome(
        warehouse=Warehouse(path=settings["warehouse"]).file,
        dumps=[dump.dump_id for dump in listing.dumps],
        skipped=listing.skipped,
    )
    instance = dg.DagsterInstance.get()
    _, outcome.removed = sync_partitions(instance, outcome.dumps)
    warehouse = Warehouse(path=settings["warehouse"])
    to_parse = [
        dump.dump_id
        for dump in listing.dumps
        if parsed_signature(instance, dump.dump_id) != dump.signature
        or not part_file_is_current(warehouse.part_path(dump.dump_id))
    ]
    outcome.unchanged = [d for d in outcome.dumps if d not in to_parse]
    sizes = {dump.dump_id: dump.size_bytes for dump in listing.dumps if dump.dump_id in to_parse}
    started, done_bytes, pages = time.monotonic(), 0, 0
    for number, (dump_id, error, dump_pages) in enumerate(_parse_dumps(to_parse, workers, instance), start=1):
        if error:
            outcome.failures[f"parse {dump_id}"] = error
        done_bytes, pages = done_bytes + sizes[dump_id], pages + dump_pages
        if progress:
            elapsed = max(time.monotonic() - started, 1e-6)
            left = (sum(sizes.values()) - done_bytes) / max(done_bytes / elapsed, 1.0)
            progress(
                f"[{number}/{len(to_parse)}] parsed {dump_id}: {pages:,} pages, {pages / elapsed:,.0f} pages/s, "
                f"{done_bytes / elapsed / 1e6:,.1f} MB/s, about {left:,.0f} s left"
            )
    if progress:
        progress("publishing the warehouse")
    result = defs.resolve_job_def("publish_warehouse").execute_in_process(
        run_config=_QUIET_CONSOLE, instance=instance, raise_on_error=False
    )
    if not result.success:
        outcome.failures["publish"] = _first_error(result)
    # The summary comes from the run's own record: no second connection to the warehouse,
    # which a user's open read-write session could block.
    for materialization in result.asset_materializations_for_node("warehouse_tables"):
        outcome.tables[materialization.asset_key.to_user_string()] = {
            name: entry.value for name, entry in materialization.metadata.items()
        }
    for materialization in result.asset_materializations_for_node("corpus_report"):
        outcome.report = materialization.metadata["report"].value
    for evaluation in result.get_asset_check_evaluations():
        outcome.checks_run += 1
        if not evaluation.passed:
            key = evaluation.asset_check_key
            outcome.failed_checks.append(f"{key.asset_key.to_user_string()}: {key.name} ({evaluation.severity.value})")
    if progress:
        progress("")
    return outcome


def _parse_dumps(
    dump_ids: list[str], workers: int, instance: dg.DagsterInstance
) -> Iterator[tuple[str, str | None, int]]:
    """(dump_id, first error line or None, pages parsed) per dump, as the partition runs finish."""
    if workers <= 1 or len(dump_ids) <= 1:
        for dump_id in dump_ids:
            yield dump_id, *_parse_dump(dump_id, instance)
        return
    # Separate processes, not threads: parsing holds the GIL between polars calls. Spawned,
    # not forked, since polars' thread pool does not survive a fork.
    context = multiprocessing.get_context("spawn")
    # The workers share the cores: within a dump, parse one batch at a time once they are all busy.
    threads = max(1, (os.cpu_count() or 1) // workers)
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_set_parse_threads, initargs=(threads,)
    ) as pool:
        futures = {pool.submit(_parse_dump, dump_id): dump_id for dump_id in dump_ids}
        for future in as_completed(futures):
            yield futures[future], *future.result()


def _set_parse_threads(threads: int) -> None:
    from assets.parsed_dump import PARSE_THREADS_VARIABLE

    os.environ[PARSE_THREADS_VARIABLE] = str(threads)


def _parse_dump(dump_id: str, instance: dg.DagsterInstance | None = None) -> tuple[str | None, int]:
    from orchestration.definitions import defs

    result = defs.resolve_job_def("ingest_dump").execute_in_process(
        run_config=_QUIET_CONSOLE,
        partition_key=dump_id,
        instance=instance or dg.DagsterInstance.get(),
        raise_on_error=False,
    )
    if not result.success:
        return _first_error(result), 0
    [materialization] = result.asset_materializations_for_node("parsed_dump")
    return None, materialization.metadata["dagster/row_count"].value


def _first_error(result: dg.ExecuteInProcessResult) -> str:
    for event in result.get_step_failure_events():
        error = event.step_failure_data.error
        if error is not None:
            cause = error
            while cause.cause is not None:
                cause = cause.cause
            return cause.message.strip().splitlines()[-1]
    return "the run failed"
