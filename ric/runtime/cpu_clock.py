"""CPU-time accounting for training budgets (``ric train --time-budget``).

Models are compared at equal CPU budgets, not wall time, so that runs sharing a busy
machine stay comparable. The chain model corrupts its training examples in DataLoader
worker processes; their CPU time is part of what training costs and is counted here
together with the main process's (all threads).
"""
from __future__ import annotations

import psutil

__all__ = ["CpuClock"]


class CpuClock:
    """CPU seconds (user + system) spent by this process and its child processes.

    Counts every thread of this process, every live descendant process (e.g. DataLoader
    workers, read from the OS while they run) and every child that has already exited
    and been reaped. Time spent before the clock was created is excluded; ``offset``
    is added (the CPU seconds of an earlier, resumed part of the run).

    Args:
        offset: seconds already spent before this clock started (default 0).

    Example:
        >>> clock = CpuClock()
        >>> clock.seconds() >= 0
        True
    """

    def __init__(self, offset: float = 0.0) -> None:
        self._process = psutil.Process()
        self.offset = float(offset)
        self._origin = self._total()

    def _total(self) -> float:
        times = self._process.cpu_times()
        total = times.user + times.system + times.children_user + times.children_system
        for child in self._process.children(recursive=True):
            try:
                child_times = child.cpu_times()
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue  # exited between listing and reading; counted once reaped
            total += child_times.user + child_times.system
        return total

    def seconds(self) -> float:
        """CPU seconds since the clock was created, plus ``offset``."""
        return self.offset + max(0.0, self._total() - self._origin)
