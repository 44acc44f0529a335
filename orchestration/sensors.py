"""The sensors the daemon ticks: the dumps folder (new dumps become partitions and runs;
changed dumps run again once; dumps still being copied wait; removed dumps leave the
warehouse), and the automation conditions of the assets."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import dagster as dg

from assets.keys import DUMPS_PARTITIONS
from assets.partitions import drop_unreadable_evaluations, dumps_partitions, last_parses, remove_dump_partitions
from assets.resources import DumpsFolder, WarehouseResource
from newsdesk.parsing import part_file_is_current
from newsdesk.work import DumpsWork, plan_dumps_work
from orchestration.jobs import ingest_dump_job, publish_warehouse_job

# Each tick looks at this many of each automated asset's latest evaluations for a dump that has
# left: one evaluation can be under way when a dump leaves, and it is written after the purge.
RECENT_EVALUATIONS = 10


@dataclass
class DumpRuns:
    """What one tick requests, from the work the dumps need and what earlier ticks saw."""

    to_run: dict[str, str] = field(default_factory=dict)  # dump_id -> run key
    waiting: list[str] = field(default_factory=list)  # still changing between ticks
    cursor: dict = field(default_factory=dict)


def plan_dump_runs(
    work: DumpsWork,
    signatures: Mapping[str, str],
    marked_complete: set[str],
    last_parse_ids: Mapping[str, int],
    cursor: dict,
) -> DumpRuns:
    """Of the dumps that need parsing, the ones whose copy is complete: marked by _SUCCESS, or
    unchanged since the previous tick. signatures: every dump in the folder now. cursor:
    {"seen": {dump_id: signature at the last tick}, "requested": {dump_id: run key}}.

    A run key joins the dump's signature with the id of its last parse: a dump is requested
    once per content and per parse. A failed run is not requested again every tick (its
    automation condition retries it daily); a dump that still needs work after a parse (its
    partition file was deleted, say) is requested again.
    """
    last_seen = cursor.get("seen", {})
    requested = {d: key for d, key in cursor.get("requested", {}).items() if d in signatures}
    runs = DumpRuns()
    for dump_id in work.to_parse:
        signature = signatures[dump_id]
        run_key = f"{dump_id}@{signature}@{last_parse_ids.get(dump_id, 0)}"
        if requested.get(dump_id) == run_key:
            continue
        if dump_id in marked_complete or last_seen.get(dump_id) == signature:
            runs.to_run[dump_id] = requested[dump_id] = run_key
        else:
            runs.waiting.append(dump_id)
    runs.cursor = {"seen": dict(signatures), "requested": requested}
    return runs


@dg.sensor(
    jobs=[ingest_dump_job, publish_warehouse_job],
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Watches the dumps folder: adds new dumps as partitions and parses them once their "
    "copy is complete (a _SUCCESS marker, or size and mtime stable across two ticks); parses a changed "
    "dump again once; reports a removed dump, deletes its partition and publishes without it.",
)
def dumps_folder_sensor(
    context: dg.SensorEvaluationContext, dumps: DumpsFolder, warehouse: WarehouseResource
) -> dg.SensorResult:
    listing = dumps.listing()
    store = warehouse.warehouse
    known = set(context.instance.get_dynamic_partitions(DUMPS_PARTITIONS))
    parses = last_parses(context.instance, [dump.dump_id for dump in listing.dumps])
    work = plan_dumps_work(
        listing.dumps,
        known,
        {dump_id: parse.signature for dump_id, parse in parses.items()},
        lambda dump_id: part_file_is_current(store.part_path(dump_id)),
    )
    runs = plan_dump_runs(
        work,
        {dump.dump_id: dump.signature for dump in listing.dumps},
        {dump.dump_id for dump in listing.dumps if dump.is_marked_complete},
        {dump_id: parse.event_id for dump_id, parse in parses.items()},
        json.loads(context.cursor) if context.cursor else {},
    )

    for name, reason in listing.skipped:
        context.log.warning(f"skipped {name}: {reason}")
    if runs.waiting:
        context.log.info(f"waiting for dumps still being written: {', '.join(runs.waiting)}")
    for dump_id in work.removed:
        context.log.warning(f"dump {dump_id!r} is gone from {dumps.path}: removing its partition and its rows")

    run_requests = [
        dg.RunRequest(run_key=run_key, job_name=ingest_dump_job.name, partition_key=dump_id)
        for dump_id, run_key in runs.to_run.items()
    ]
    if work.removed:
        run_requests.append(dg.RunRequest(job_name=publish_warehouse_job.name))
    new_partitions = [dump_id for dump_id in runs.to_run if dump_id not in known]
    partition_requests = []
    if new_partitions:
        partition_requests.append(dumps_partitions.build_add_request(new_partitions))
    if work.removed:  # now, not as a request: the automation history that names them goes too
        remove_dump_partitions(context.instance, work.removed)
    else:
        # An automation evaluation that was under way when a dump left may still name it.
        drop_unreadable_evaluations(context.instance, newest=RECENT_EVALUATIONS)
    return dg.SensorResult(
        run_requests=run_requests, dynamic_partitions_requests=partition_requests, cursor=json.dumps(runs.cursor)
    )


automation_sensor = dg.AutomationConditionSensorDefinition(
    "newsdesk_automation",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Publishes the warehouse after dump runs, and retries failed dumps daily.",
)
