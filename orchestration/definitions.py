"""The one entry point that the Dagster UI, the daemon and `newsdesk run` all load."""

import dagster as dg

from assets.checks import warehouse_checks
from assets.corpus_report import corpus_report
from assets.parsed_dump import parsed_dump
from assets.resources import resources_from_environment
from assets.warehouse_tables import warehouse_tables
from orchestration.jobs import ingest_dump_job, publish_warehouse_job
from orchestration.maintenance import maintain_warehouse_job
from orchestration.schedules import daily_publish_schedule, weekly_maintenance_schedule
from orchestration.sensors import automation_sensor, dumps_folder_sensor

defs = dg.Definitions(
    assets=[parsed_dump, warehouse_tables, corpus_report],
    asset_checks=warehouse_checks,
    jobs=[ingest_dump_job, publish_warehouse_job, maintain_warehouse_job],
    sensors=[dumps_folder_sensor, automation_sensor],
    schedules=[daily_publish_schedule, weekly_maintenance_schedule],
    resources=resources_from_environment(),
)


def job_named(name: str) -> dg.JobDefinition:
    """A job of the definitions, for `dagster.build_reconstructable_job` (newsdesk run)."""
    return defs.resolve_job_def(name)
