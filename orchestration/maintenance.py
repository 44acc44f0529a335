"""The warehouse maintenance job (newsdesk.maintenance): run weekly by its schedule, from the
UI, or by `newsdesk maintain`."""

from datetime import timedelta

import dagster as dg
import pydantic

from assets.keys import MAINTENANCE_JOB, MAINTENANCE_OP, WRITER_TAGS
from assets.resources import WarehouseResource
from newsdesk.maintenance import (
    DEFAULT_DELETE_AFTER,
    DEFAULT_EXPIRE_OLDER_THAN,
    DEFAULT_KEEP_LATEST,
    MaintenancePolicy,
    maintain,
)


class MaintenanceConfig(dg.Config):
    expire_older_than_days: float = pydantic.Field(
        default=DEFAULT_EXPIRE_OLDER_THAN / timedelta(days=1), ge=0,
        description="Expire the snapshots older than this: `newsdesk sql --at` cannot query them any more.",
    )
    keep_latest: int = pydantic.Field(
        default=DEFAULT_KEEP_LATEST, ge=1, description="Never expire the newest this many snapshots, however old."
    )
    delete_after_hours: float = pydantic.Field(
        default=DEFAULT_DELETE_AFTER / timedelta(hours=1), ge=0,
        description="Delete a data file once no snapshot has used it for this long (a reader may still read it).",
    )

    def policy(self) -> MaintenancePolicy:
        return MaintenancePolicy(
            expire_older_than=timedelta(days=self.expire_older_than_days),
            keep_latest=self.keep_latest,
            delete_after=timedelta(hours=self.delete_after_hours),
        )


@dg.op(name=MAINTENANCE_OP, description="Expire old snapshots, merge small data files and delete the files no snapshot uses.")
def maintain_warehouse(context: dg.OpExecutionContext, config: MaintenanceConfig, warehouse: WarehouseResource) -> None:
    store = warehouse.warehouse
    if not store.exists():  # the writer would create an empty one
        context.add_output_metadata({"summary": f"no warehouse at {store.location} yet: nothing to maintain"})
        return
    with store.writer(waiting=context.log.warning) as connection:  # the writer's lock: never beside a publish
        report = maintain(connection, config.policy())
    context.log.info(report.summary())
    context.add_output_metadata(
        {
            "expired_snapshots": report.expired_snapshots,
            "files_merged": report.files_merged,
            "files_deleted": report.files_deleted + report.orphans_deleted,
            "data_bytes_before": report.bytes_before,
            "data_bytes_after": report.bytes_after,
            "summary": report.summary(),
        }
    )


@dg.job(name=MAINTENANCE_JOB, executor_def=dg.in_process_executor, tags=WRITER_TAGS, description="Keep the warehouse small: expire old snapshots, merge files, delete unused ones.")
def maintain_warehouse_job() -> None:
    maintain_warehouse()

