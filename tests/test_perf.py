"""Tests for src/groklab/perf.py."""

import subprocess
import sys
import time

import pytest
import torch

from groklab.errors import GroklabError
from groklab.perf import (
    CpuTimes,
    apply_threads,
    auto_threads,
    idle_cores,
    read_proc_stat,
    read_self_jiffies,
    serial_blas,
    set_threads,
)


@pytest.fixture
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def proc_stat_text(user: int, idle: int, cpus: int = 2) -> str:
    """A /proc/stat with the given aggregate jiffies (the rest zero) and `cpus` cpuN lines."""
    lines = [f"cpu  {user} 0 0 {idle} 0 0 0 0 0 0"]
    lines += [f"cpu{i} {user // cpus} 0 0 {idle // cpus} 0 0 0 0 0 0" for i in range(cpus)]
    return "\n".join([*lines, "intr 0", "ctxt 0", "btime 0"]) + "\n"


def fake_readers(snapshots: list[CpuTimes], own: list[int]):
    stats, selfs = iter(snapshots), iter(own)
    return {
        "read_stat": lambda: next(stats),
        "read_self": lambda: next(selfs),
        "sleep": lambda s: 0,
    }


def test_read_proc_stat_counts_idle_and_iowait_as_idle(tmp_path):
    path = tmp_path / "stat"
    path.write_text(
        "cpu  10 1 2 30 4 0 0 0 0 0\ncpu0 5 0 1 15 2 0 0 0 0 0\ncpu1 5 1 1 15 2 0 0 0 0 0\n"
    )
    assert read_proc_stat(path) == CpuTimes(busy=13, total=47, cpus=2)
    assert read_proc_stat(tmp_path / "absent") is None


def test_auto_picks_every_core_once_a_busy_process_has_ended(tmp_path):
    # Two cores; a busy process used both until just before (its jiffies are in the totals,
    # and the 1-minute load average would still say ~2), but none in the sampled interval.
    before = read_proc_stat_from(tmp_path, user=100_000, idle=500)
    after = read_proc_stat_from(tmp_path, user=100_000, idle=550)  # 50 jiffies, all idle
    idle = idle_cores(**fake_readers([before, after], own=[0, 0]))
    assert idle == (2.0, 2)
    choice = auto_threads(cores=2, idle=idle)
    assert choice.count == 2 and str(choice) == "threads 2 (auto: 2.0 of 2 cores idle)"


def read_proc_stat_from(tmp_path, **jiffies) -> CpuTimes:
    path = tmp_path / "stat"
    path.write_text(proc_stat_text(**jiffies))
    return read_proc_stat(path)


@pytest.mark.parametrize(
    ("others", "own", "expected"),
    [(0, 0, 2), (0, 50, 2), (10, 20, 2), (24, 2, 2), (30, 2, 1), (50, 0, 1), (100, 0, 1)],
)
def test_auto_leaves_the_cores_other_processes_use_now_not_its_own(others, own, expected):
    # 2 cores, 100 jiffies in the interval: `others` busy ones are other processes', `own` ours
    before = CpuTimes(busy=1000, total=5000, cpus=2)
    after = CpuTimes(busy=1000 + others + own, total=5100, cpus=2)
    idle = idle_cores(**fake_readers([before, after], own=[7, 7 + own]))
    assert auto_threads(cores=2, idle=idle).count == expected


def test_auto_uses_every_usable_core_where_there_is_no_proc_stat():
    choice = auto_threads(cores=3, idle=None)
    assert choice.count == 3 and "no /proc/stat" in choice.reason


def test_auto_counts_only_the_share_of_a_larger_machine_this_process_may_use():
    assert auto_threads(cores=2, idle=(15.0, 16)).count == 2
    assert auto_threads(cores=4, idle=(1.0, 16)).count == 1  # 1 of 16 idle: at least 1


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_real_readers_see_this_process_spin_and_leave_it_out():
    stat = read_proc_stat()
    assert stat is not None and 0 <= stat.busy <= stat.total and stat.cpus >= 1
    start = read_self_jiffies()

    def spin(seconds: float) -> None:
        end = time.process_time() + seconds
        while time.process_time() < end:
            pass

    idle, cpus = idle_cores(0.3, sleep=spin)  # this process is busy the whole interval
    assert read_self_jiffies() - start >= 20  # 0.3 s of CPU at 100 jiffies a second
    assert 0.0 <= idle <= cpus == stat.cpus


def test_a_busy_process_that_ended_leaves_auto_all_idle_cores_in_a_real_sample():
    # A real busy child for ~1 s, ended before sampling: the sample must not count it, so
    # auto's idle estimate is no lower than one taken while the child still ran.
    child = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        during = idle_cores(0.3)
    finally:
        child.kill()
        child.wait()
    after = idle_cores(0.3)
    if during is None or after is None:
        pytest.skip("no /proc/stat here")
    assert after[0] >= during[0] - 0.5  # the machine is shared: others may have started


def test_set_threads_applies_a_count_and_refuses_bad_values_in_one_line(restore_threads):
    assert set_threads("1") == 1 and torch.get_num_threads() == 1
    assert str(apply_threads(1)) == "threads 1 (--threads)"
    for bad in ("0", "two", "-3"):
        with pytest.raises(GroklabError, match=f"--threads={bad} is not allowed") as err:
            set_threads(bad)
        assert "\n" not in str(err.value)


def test_auto_honours_omp_num_threads_when_the_user_set_it(monkeypatch, restore_threads):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    choice = apply_threads("auto")
    assert choice.count == 1 and str(choice) == "threads 1 (OMP_NUM_THREADS=1)"
    monkeypatch.delenv("OMP_NUM_THREADS")
    choice = apply_threads("auto")
    assert choice.count >= 1 and choice.reason.startswith("auto: ")


def test_groklab_import_defaults_mkl_to_strict_reproducible_mode():
    import os

    import groklab  # noqa: F401  (its import sets the default)
    from groklab.perf import blas_is_reproducible

    assert os.environ["MKL_CBWR"] == "AUTO,STRICT"
    assert blas_is_reproducible() in (True, None)  # None: a torch without MKL


@pytest.mark.slow
def test_groklab_import_puts_mkl_in_strict_reproducible_mode_in_a_fresh_process():
    code = (
        "import os, groklab, torch; from groklab.perf import blas_is_reproducible;"
        "torch.randn(64, 64) @ torch.randn(64, 64);"
        "print(os.environ['MKL_CBWR'], blas_is_reproducible())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    env, strict = out.stdout.split()
    assert env == "AUTO,STRICT" and strict in ("True", "None")  # None: a torch without MKL


def test_serial_blas_gives_a_float64_product_at_2_threads_the_bits_of_1_and_then_lets_go(
    restore_threads,
):
    # x @ w.T is MKL's dgemm with a transposed first operand: in strict mode it still followed
    # the thread count (by ~1e-16) with MKL 2024.2 on AVX-512, where sgemm did not
    g = torch.Generator().manual_seed(0)
    x, w = torch.randn(50, 128, generator=g).double(), torch.randn(128, 128, generator=g).double()
    torch.set_num_threads(1)
    one = x @ w.T
    torch.set_num_threads(2)
    two = x @ w.T
    with serial_blas() as active:
        inside = x @ w.T
        assert torch.get_num_threads() == 2  # torch's own ops keep their threads
    if not active:
        pytest.skip("torch links no MKL")
    assert torch.equal(inside, one)
    assert torch.equal(x @ w.T, two)  # MKL's count from before is back
    with serial_blas(active=False) as active:
        assert not active
