"""The planner leaves the garbage collector exactly as it found it."""

from __future__ import annotations

import gc

import pytest

from skaal.solver.collector import collector_paused


@pytest.mark.parametrize("enabled", [True, False])
def test_the_collector_is_paused_inside_and_restored_after(enabled: bool) -> None:
    was = gc.isenabled()
    try:
        if enabled:
            gc.enable()
        else:
            gc.disable()
        frozen = gc.get_freeze_count()
        with collector_paused():
            assert not gc.isenabled()
        assert gc.isenabled() is enabled
        assert gc.get_freeze_count() == frozen
    finally:
        if was:
            gc.enable()
        else:
            gc.disable()


def test_an_error_inside_still_restores_the_collector() -> None:
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_freeze_made_by_the_program_is_left_alone() -> None:
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with collector_paused():
            assert gc.get_freeze_count() == frozen
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()


def test_a_block_inside_a_paused_one_leaves_everything_as_the_outer_set_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An inner block neither freezes again nor counts what is frozen (a walk of
    every frozen object), and leaves the outer block's pause in place."""
    with collector_paused():
        frozen = gc.get_freeze_count()

        def counted() -> int:
            raise AssertionError("the inner block counted the frozen objects")

        monkeypatch.setattr(gc, "get_freeze_count", counted)
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
        monkeypatch.undo()
        assert gc.get_freeze_count() == frozen
    assert gc.isenabled()
