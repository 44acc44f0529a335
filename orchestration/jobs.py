"""The two jobs of the pipeline. Whoever launches them (the daemon for the sensor, schedule and
automation; `newsdesk run`; a user in the UI), a run executes in its own process, its steps
one after another: the ingest job has one step, and the publish job's steps depend on each
other. Parallelism comes from runs of different dumps side by side, and a dump's step may
execute on a Dask worker of another machine (orchestration/executor.py); the publish always
executes in its run's process, the one writer."""

import dagster as dg

from assets.keys import INGEST_GROUP, INGEST_JOB, PUBLISH_JOB, REPORTS_GROUP, WAREHOUSE_GROUP, WRITER_TAGS
from assets.partitions import dumps_partitions
from orchestration.executor import newsdesk_executor

# Parse one dump into its partition file; runs of different dumps can go in parallel.
ingest_dump_job = dg.define_asset_job(
    INGEST_JOB,
    selection=dg.AssetSelection.groups(INGEST_GROUP),
    partitions_def=dumps_partitions,
    executor_def=newsdesk_executor,
    description="Parse one dump (a partition) into its Parquet partition file.",
)

# Publish all partition files into the DuckDB warehouse (the only job that writes it), check
# it, and rebuild the corpus report.
publish_warehouse_job = dg.define_asset_job(
    PUBLISH_JOB,
    selection=dg.AssetSelection.groups(WAREHOUSE_GROUP, REPORTS_GROUP),
    executor_def=dg.in_process_executor,
    tags=WRITER_TAGS,
    description="Load changed dumps into the warehouse, rebuild the distinct articles and headlines, "
    "run the checks and rebuild the corpus report.",
)
