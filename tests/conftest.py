"""Shared test set-up.

One torch thread: the suite's models are tiny, and OpenMP threads spinning against other
processes on a shared 2-core machine make tiny steps 50x slower.
"""

import os

import torch

os.environ.setdefault("OMP_NUM_THREADS", "1")  # inherited by CLI subprocesses
torch.set_num_threads(1)
