import gc

import pytest

from ric.runtime.gc_tuning import YOUNG_THRESHOLD, tune_gc
from ric.training.loop import _init_data_worker


@pytest.fixture
def restore_gc():
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_tune_gc_raises_threshold_and_freezes(restore_gc):
    gc.set_threshold(700, 10, 10)
    gc.unfreeze()
    marker = [object() for _ in range(10)]  # tracked objects that exist now
    tune_gc()
    assert gc.get_threshold() == (YOUNG_THRESHOLD, 20, 20)
    assert gc.get_freeze_count() >= len(marker)


def test_tune_gc_keeps_a_higher_threshold_and_can_skip_freezing(restore_gc):
    gc.unfreeze()
    gc.set_threshold(100_000, 10, 10)
    tune_gc(freeze=False)
    assert gc.get_threshold() == (100_000, 20, 20)
    assert gc.get_freeze_count() == 0


def test_training_data_workers_tune_the_collector(restore_gc):
    gc.set_threshold(700, 10, 10)
    _init_data_worker(0)
    assert gc.get_threshold()[0] == YOUNG_THRESHOLD
