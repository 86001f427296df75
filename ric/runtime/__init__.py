"""Run-time helpers shared by training, sampling and metrics: devices, checkpoints, CPU clock.

* :mod:`ric.runtime.device`: :func:`~ric.runtime.device.resolve_device`.
* :mod:`ric.runtime.checkpoint`: atomic, version-checked checkpoints.
* :mod:`ric.runtime.cpu_clock`: CPU seconds of a process and its children.
* :mod:`ric.runtime.gc_tuning`: :func:`~ric.runtime.gc_tuning.tune_gc`, collector settings for
  the many short-lived objects of corruption and sampling.
"""
