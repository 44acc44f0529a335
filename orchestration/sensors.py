"""The dumps-folder sensor: new dumps become partitions and runs; changed dumps run again once;
dumps still being copied wait; removed dumps are reported and leave the warehouse."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import dagster as dg

from orchestration.jobs import ingest_dump_job, publish_warehouse_job
from orchestration.partitions import dumps_partitions, parsed_signature
from orchestration.resources import DumpsFolder


@dataclass
class DumpsPlan:
    """What one tick decides, from what it sees and what earlier ticks saw (the cursor)."""

    to_run: dict[str, str] = field(default_factory=dict)  # dump_id -> signature to parse
    waiting: list[str] = field(default_factory=list)  # still changing between ticks
    removed: list[str] = field(default_factory=list)  # partitions whose dump is gone
    cursor: dict = field(default_factory=dict)


def plan_dump_runs(
    seen_now: dict[str, tuple[str, bool]],
    cursor: dict,
    partitions: set[str],
    parsed_signature=lambda dump_id: None,
) -> DumpsPlan:
    """seen_now: {dump_id: (signature, marked complete)}. cursor: {"seen": {dump_id: signature
    at the last tick}, "requested": {dump_id: signature last requested}}. parsed_signature: the
    signature recorded by the latest materialization of a partition, if any.

    A dump runs when its signature differs from the one last requested or parsed, and it is
    complete: marked by _SUCCESS, or unchanged since the previous tick (not mid-copy).
    """
    last_seen = cursor.get("seen", {})
    requested = dict(cursor.get("requested", {}))
    plan = DumpsPlan(removed=sorted(partitions - set(seen_now)))
    for dump_id, (signature, marked_complete) in seen_now.items():
        if dump_id not in requested and dump_id in partitions:
            requested[dump_id] = parsed_signature(dump_id)
        if requested.get(dump_id) == signature:
            continue
        if marked_complete or last_seen.get(dump_id) == signature:
            plan.to_run[dump_id] = signature
            requested[dump_id] = signature
        else:
            plan.waiting.append(dump_id)
    for dump_id in plan.removed:
        requested.pop(dump_id, None)
    plan.cursor = {"seen": {d: s for d, (s, _) in seen_now.items()}, "requested": requested}
    return plan


@dg.sensor(
    jobs=[ingest_dump_job, publish_warehouse_job],
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Watches the dumps folder: adds new dumps as partitions and parses them once their "
    "copy is complete (a _SUCCESS marker, or size and mtime stable across two ticks); parses a changed "
    "dump again once; reports a removed dump, deletes its partition and publishes without it.",
)
def dumps_folder_sensor(context: dg.SensorEvaluationContext, dumps: DumpsFolder) -> dg.SensorResult:
    listing = dumps.listing()
    seen_now = {dump.dump_id: (dump.signature, dump.is_marked_complete) for dump in listing.dumps}
    partitions = set(context.instance.get_dynamic_partitions(dumps_partitions.name))
    cursor = json.loads(context.cursor) if context.cursor else {}
    plan = plan_dump_runs(seen_now, cursor, partitions, lambda dump_id: parsed_signature(context.instance, dump_id))

    for name, reason in listing.skipped:
        context.log.warning(f"skipped {name}: {reason}")
    if plan.waiting:
        context.log.info(f"waiting for dumps still being written: {', '.join(plan.waiting)}")
    for dump_id in plan.removed:
        context.log.warning(f"dump {dump_id!r} is gone from {dumps.path}: removing its partition and its rows")

    run_requests = [
        dg.RunRequest(run_key=f"{dump_id}@{signature}", job_name=ingest_dump_job.name, partition_key=dump_id)
        for dump_id, signature in plan.to_run.items()
    ]
    if plan.removed:
        run_requests.append(dg.RunRequest(job_name=publish_warehouse_job.name))
    new_partitions = [dump_id for dump_id in plan.to_run if dump_id not in partitions]
    partition_requests = []
    if new_partitions:
        partition_requests.append(dumps_partitions.build_add_request(new_partitions))
    if plan.removed:
        partition_requests.append(dumps_partitions.build_delete_request(plan.removed))
    return dg.SensorResult(
        run_requests=run_requests, dynamic_partitions_requests=partition_requests, cursor=json.dumps(plan.cursor)
    )
