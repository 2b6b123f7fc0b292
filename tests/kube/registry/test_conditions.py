"""kube's condition rule, in the one helper every controller uses: lastTransitionTime moves only
when the condition's status does."""

from __future__ import annotations

import copy

from kube.registry.conditions import condition_is_true, set_condition

T0, T1, T2 = "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z"


def test_a_new_condition_is_appended_with_the_transition_time() -> None:
    status: dict = {"conditions": [{"type": "A", "status": "True", "lastTransitionTime": T0}]}
    assert set_condition(status, type="B", status=False, reason="Why", message="because", now=T1)
    assert status["conditions"] == [
        {"type": "A", "status": "True", "lastTransitionTime": T0},
        {"type": "B", "status": "False", "reason": "Why", "message": "because", "lastTransitionTime": T1},
    ]


def test_a_new_reason_alone_keeps_the_transition_time() -> None:
    status: dict = {}
    set_condition(status, type="Ready", status=False, reason="Waiting", now=T0)
    assert set_condition(status, type="Ready", status=False, reason="StillWaiting", message="longer", now=T1)
    assert status["conditions"] == [
        {"type": "Ready", "status": "False", "reason": "StillWaiting", "message": "longer", "lastTransitionTime": T0}
    ]


def test_a_status_change_moves_the_transition_time_and_drops_stale_reasons() -> None:
    status: dict = {}
    set_condition(status, type="Ready", status=False, reason="Waiting", message="m", now=T0)
    assert set_condition(status, type="Ready", status=True, now=T1)
    assert status["conditions"] == [{"type": "Ready", "status": "True", "lastTransitionTime": T1}]
    assert condition_is_true(status, "Ready")
    assert set_condition(status, type="Ready", status="Unknown", now=T2)
    assert status["conditions"][0]["lastTransitionTime"] == T2
    assert not condition_is_true(status, "Ready")


def test_an_unchanged_condition_changes_nothing_so_a_recomputed_status_is_equal() -> None:
    status: dict = {}
    set_condition(status, type="A", status=True, now=T0)
    set_condition(status, type="B", status=False, reason="R", now=T0)
    before = copy.deepcopy(status)
    assert not set_condition(status, type="A", status=True, now=T2)
    assert not set_condition(status, type="B", status="False", reason="R", now=T2)
    assert status == before  # order and times as they were: no write follows


def test_a_condition_without_a_time_gets_one_even_when_its_status_stays() -> None:
    status: dict = {"conditions": [{"type": "A", "status": "True"}, "not a condition"]}
    assert set_condition(status, type="A", status=True, now=T1)
    assert status["conditions"] == [{"type": "A", "status": "True", "lastTransitionTime": T1}]
