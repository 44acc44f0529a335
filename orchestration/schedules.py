import dagster as dg

from assets.automation import DAILY_CRON, TIMEZONE
from orchestration.jobs import publish_warehouse_job

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
