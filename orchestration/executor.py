"""Where a run's steps execute: in the run's own process, or on the workers of a Dask cluster.

One executor, chosen by configuration alone: its `dask_scheduler` (run config), else
NEWSDESK_DASK_SCHEDULER in the environment of the process that starts the run, else none,
which executes in process. With a scheduler address, each step is a Dask task: a worker that
dies takes its task with it and the scheduler gives the task to another worker, so a step
may execute twice. Steps are idempotent for that: a partition file is written whole and
renamed, and the publish is one transaction.

Not dagster-dask: it names a Dask task by job and step only, so two partition runs at once
share one task, and one of the two partitions is never parsed while both runs report success
(dagster-io/dagster#21418). Here the task's key holds the run id.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Iterator, Sequence

import dagster as dg
from dagster._core.events import DagsterEvent
from dagster._core.execution.api import create_execution_plan, execute_plan
from dagster._core.execution.context.system import PlanOrchestrationContext
from dagster._core.execution.plan.plan import ExecutionPlan
from dagster._core.execution.retries import RetryMode
from dagster._core.executor.base import Executor
from dagster._core.executor.in_process import InProcessExecutor

DASK_SCHEDULER_VARIABLE = "NEWSDESK_DASK_SCHEDULER"
# The settings a step reads (assets/resources.py) travel with it to the worker.
_SETTINGS_PREFIX = "NEWSDESK_"


@dg.executor(
    name="newsdesk",
    config_schema={
        "dask_scheduler": dg.Field(
            str,
            default_value="",
            description=f"tcp://host:port of a Dask scheduler whose workers execute the steps "
            f"(default: ${DASK_SCHEDULER_VARIABLE}; none: in the run's process)",
        )
    },
)
def newsdesk_executor(init_context: dg.InitExecutorContext) -> Executor:
    address = init_context.executor_config["dask_scheduler"] or os.environ.get(DASK_SCHEDULER_VARIABLE, "")
    if not address:
        return InProcessExecutor(retries=RetryMode.ENABLED)
    if not init_context.instance.is_persistent:
        raise dg.Failure("steps on a Dask cluster need a persistent Dagster instance (DAGSTER_HOME)")
    return DaskExecutor(address)


class DaskExecutor(Executor):
    """Submits each step to the scheduler, after the steps it depends on, and yields the
    events the workers return."""

    def __init__(self, address: str):
        self.address = address

    @property
    def retries(self) -> RetryMode:
        return RetryMode.DISABLED

    def execute(self, plan_context: PlanOrchestrationContext, execution_plan: ExecutionPlan) -> Iterator[DagsterEvent]:
        import dask.distributed

        run = plan_context.dagster_run
        settings = {name: value for name, value in os.environ.items() if name.startswith(_SETTINGS_PREFIX)}
        with dask.distributed.Client(self.address, timeout=30) as client:
            futures = {}
            for level in execution_plan.get_steps_to_execute_by_level():
                for step in level:
                    upstream = [futures[key] for step_input in step.step_inputs for key in step_input.dependency_keys]
                    # Pickled here: Dask would walk into the run's named tuples looking for tasks.
                    step_task = pickle.dumps(
                        (
                            plan_context.reconstructable_job,
                            run,
                            plan_context.run_config,
                            step.key,
                            plan_context.instance.get_ref(),
                            execution_plan.known_state,
                            settings,
                        )
                    )
                    futures[step.key] = client.submit(
                        _execute_step, upstream, step_task, key=f"{run.job_name}.{step.key}.{run.run_id}", pure=False
                    )
            for _, events in dask.distributed.as_completed(list(futures.values()), with_results=True):
                yield from pickle.loads(events)


def _execute_step(upstream: Sequence[object], step_task: bytes) -> bytes:
    """On a Dask worker: execute one step of the run, its events stored in the run's instance
    and handed back, pickled. `upstream` only makes Dask wait for the steps this one depends on."""
    job, run, run_config, step_key, instance_ref, known_state, settings = pickle.loads(step_task)
    os.environ.update(settings)
    with dg.DagsterInstance.from_ref(instance_ref) as instance:
        subset = job.get_subset(op_selection=run.resolved_op_selection)
        plan = create_execution_plan(subset, run_config=run_config, step_keys_to_execute=[step_key], known_state=known_state)
        return pickle.dumps(list(execute_plan(plan, subset, instance, run, run_config=run_config)))
