"""A worker process that kills itself with SIGKILL at a chosen point (test helper).

The driver's `WorkerPool` starts `main` in place of `pool.worker_main` (the test patches it,
and `spawn` pickles the target by module name, so this module is on the workers' `sys.path`).
On the first attempt of population 0 the worker streams its step-10 evaluation, writes its
pid to the file named by `$GROKLAB_TEST_DYING_WORKER`, and is killed by the kernel: a real
kill -9 of the worker training that population, at a step no scheduler can move. Every
later attempt (the file exists) is an ordinary worker.
"""

import os
import signal
from pathlib import Path

from groklab.sweep import pool

MARK = "GROKLAB_TEST_DYING_WORKER"
KILL_AT_STEP = 10


class DyingEvents(pool.PipeEvents):
    def put(self, item: tuple) -> None:
        super().put(item)  # the driver has the evaluation before the worker dies
        kind, _, _, data = item
        if kind == "eval" and data.step == KILL_AT_STEP:
            Path(os.environ[MARK]).write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)


def main(conn, parent, spec_json, options, checkpoint, tag, source) -> None:
    if tag == 0 and not Path(os.environ[MARK]).exists():
        pool.PipeEvents = DyingEvents  # this process only: it trains one population
    pool.worker_main(conn, parent, spec_json, options, checkpoint, tag, source)
