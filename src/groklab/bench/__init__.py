"""`groklab bench`: steps to grok for tasks x methods x seeds, against matched baselines.

    from groklab.bench import run_bench, write_bench
    result = run_bench(["prieto-add"], ["adamw", "orthograd"], size="quick", seeds=5,
                       out_dir="bench")
    write_bench(result, "bench")      # bench.md, bench.csv, bench.png

Tasks (tasks.py) and methods (methods.py) are registries; statistics (stats.py) treat a seed
that never reached the threshold as censored at the budget.
"""

from groklab.bench.methods import BASELINES, MATCHED, METHODS, Method, get_method, register_method
from groklab.bench.report import write_bench
from groklab.bench.run import BenchResult, Summary, bench_spec, check_selection, run_bench
from groklab.bench.stats import km_median, median_with_interval, speedup
from groklab.bench.tasks import TASKS, Task, TaskSize, get_task, register_task

__all__ = [
    "BASELINES",
    "MATCHED",
    "METHODS",
    "TASKS",
    "BenchResult",
    "Method",
    "Summary",
    "Task",
    "TaskSize",
    "bench_spec",
    "check_selection",
    "get_method",
    "get_task",
    "km_median",
    "median_with_interval",
    "register_method",
    "register_task",
    "run_bench",
    "speedup",
    "write_bench",
]
