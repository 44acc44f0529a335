import dagster as dg

from assets.automation import DAILY_CRON, TIMEZONE
from orchestration.jobs import publish_warehouse_job
from orchestration.maintenance import maintain_warehouse_job

WEEKLY_MAINTENANCE_CRON = "0 3 * * 0"

# Every morning the warehouse is published (changed dumps loaded, distinct tables rebuilt,
# checks run) even if no automation fired; failed dumps are retried by their automation
# condition at the same hour.
daily_publish_schedule = dg.ScheduleDefinition(
    name="daily_publish",
    job=publish_warehouse_job,
    cron_schedule=DAILY_CRON,
    execution_timezone=TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description=f"Publish the warehouse daily at {DAILY_CRON} ({TIMEZONE}).",
)

# Every Sunday night old snapshots expire and unused files go (newsdesk.maintenance); the job
# takes the writer's lock, so it waits for a publish rather than run beside it.
weekly_maintenance_schedule = dg.ScheduleDefinition(
    name="weekly_maintenance",
    job=maintain_warehouse_job,
    cron_schedule=WEEKLY_MAINTENANCE_CRON,
    execution_timezone=TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description=f"Maintain the warehouse weekly at {WEEKLY_MAINTENANCE_CRON} ({TIMEZONE}).",
)
