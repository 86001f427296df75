"""CpuClock: CPU time of this process and its children, for ``--time-budget``."""
from __future__ import annotations

import subprocess
import sys
import time

import pytest

from ric.runtime.cpu_clock import CpuClock

#: A child process that burns about ``SECONDS`` of CPU time, then waits for stdin to close.
BURN = """
import sys, time
end = time.process_time() + {seconds}
while time.process_time() < end:
    pass
print("done", flush=True)
sys.stdin.read()
"""


def _burn_own(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_counts_own_cpu_and_not_sleep():
    clock = CpuClock()
    _burn_own(0.3)
    busy = clock.seconds()
    time.sleep(0.3)
    assert busy >= 0.28  # psutil reads clock ticks (10 ms)
    assert clock.seconds() - busy < 0.15  # sleeping costs no CPU


def test_offset_is_added_and_earlier_time_excluded():
    _burn_own(0.2)  # before the clock: not counted
    clock = CpuClock(offset=100.0)
    assert 100.0 <= clock.seconds() < 100.15


def test_counts_live_children_and_reaped_children():
    clock = CpuClock()
    child = subprocess.Popen([sys.executable, "-c", BURN.format(seconds=0.5)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "done"
        alive = clock.seconds()  # the child is alive, waiting on stdin
        assert alive >= 0.48, alive
    finally:
        child.communicate("")
    reaped = clock.seconds()  # the child has exited and been waited for
    assert reaped >= 0.48
    assert reaped == pytest.approx(alive, abs=0.2)  # counted once, not twice
