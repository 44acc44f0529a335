"""The run workers of `newsdesk run`: real spawned processes, as the parse runs use them."""

import os
import time

from newsdesk.files import process_exists
from orchestration.runner import _run_result, _run_workers


def test_a_run_worker_with_no_run_left_exits_while_the_other_works_on():
    with _run_workers(2) as workers:
        first, second = workers.take(), workers.take()
        assert workers.take() is None  # two at most
        first_pid, second_pid = first.submit(os.getpid).result(), second.submit(os.getpid).result()
        assert first_pid != second_pid != os.getpid()

        workers.give_back(second, runs_left=True)
        assert workers.take() is second  # kept for the next run

        workers.give_back(first, runs_left=False)
        deadline = time.monotonic() + 60
        while process_exists(first_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not process_exists(first_pid)  # gone, with the memory its runs held
        assert second.submit(os.getpid).result() == second_pid
        assert workers.take() is None  # the one that left is not started again


def test_a_run_whose_worker_dies_fails_alone_and_a_new_worker_takes_the_next_run():
    with _run_workers(1) as workers:
        worker = workers.take()
        result = _run_result(worker.submit(os._exit, 9))  # the process ends without a result
        assert result.worker_died and "run worker stopped during the run" in result.error
        workers.discard(worker)

        fresh = workers.take()
        assert fresh is not None and fresh is not worker
        assert fresh.submit(os.getpid).result() != os.getpid()
