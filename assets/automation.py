"""When assets materialize without anyone asking: declarative conditions, evaluated by the
automation sensor (orchestration/sensors.py) in the daemon (`newsdesk ui` runs it)."""

import dagster as dg

DAILY_CRON = "0 4 * * *"
TIMEZONE = "Africa/Casablanca"

# Publish once the dump runs settle: after any partition file changed, when none is running
# (the report follows the same rule, after the tables).
publish_after_dumps_change = (
    dg.AutomationCondition.any_deps_updated().since_last_handled()
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
).with_label("publish after dumps change")

# The sensor requests each dump once per content; a run that failed is retried daily, not every tick.
retry_missing_dumps_daily = (
    dg.AutomationCondition.missing()
    & dg.AutomationCondition.cron_tick_passed(DAILY_CRON, TIMEZONE)
    & ~dg.AutomationCondition.in_progress()
).with_label("daily retry of dumps never parsed")
