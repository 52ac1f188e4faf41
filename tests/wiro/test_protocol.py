"""Signing, nonces and the status → state mapping."""

from __future__ import annotations

import pytest

from wiro_mcp.wiro import protocol
from wiro_mcp.wiro.protocol import NonceSource, TaskState, task_state


def test_signature_matches_an_independently_computed_vector() -> None:
    # printf 'test-secret1700000000123456' | openssl dgst -sha256 -hmac "test-key"
    expected = "a5988a2e9998591db9726d545b7bd6a193449dccd85ffa197d96389786852932"
    assert protocol.sign("test-key", "test-secret", "1700000000123456") == expected


def test_signature_uses_the_key_as_hmac_key_not_the_secret() -> None:
    # Swapping key and secret must change the signature: the order is easy to get wrong.
    assert protocol.sign("test-secret", "test-key", "1") != protocol.sign("test-key", "test-secret", "1")


def test_nonces_strictly_increase_even_when_the_clock_stands_still_or_goes_back() -> None:
    source = NonceSource()
    ticks = iter([5_000_000, 5_000_000, 4_000_000, 5_000_000, 9_000_000])
    source._clock = lambda: next(ticks)
    values = [int(source()) for _ in range(5)]
    assert values == [5000, 5001, 5002, 5003, 9000]


@pytest.mark.parametrize(
    ("status", "pexit", "outputs", "state"),
    [
        ("task_queue", None, False, TaskState.QUEUED),
        ("task_accept", None, False, TaskState.QUEUED),
        ("task_preprocess_start", None, False, TaskState.QUEUED),
        ("task_preprocess_end", None, False, TaskState.QUEUED),
        ("task_assign", None, False, TaskState.RUNNING),
        ("task_start", None, False, TaskState.RUNNING),
        ("task_output", None, False, TaskState.RUNNING),
        ("task_output_full", None, False, TaskState.RUNNING),
        # task_end is not terminal: outputs arrive after post-processing.
        ("task_end", "0", False, TaskState.RUNNING),
        ("task_postprocess_start", "0", False, TaskState.RUNNING),
        ("task_postprocess_end", "0", True, TaskState.SUCCEEDED),
        ("task_postprocess_end", "1", True, TaskState.FAILED),
        ("task_postprocess_end", "137", False, TaskState.FAILED),
        ("task_postprocess_end", None, True, TaskState.SUCCEEDED),
        ("task_postprocess_end", None, False, TaskState.FAILED),
        ("task_cancel", "0", True, TaskState.CANCELLED),
        ("task_error", "0", False, TaskState.FAILED),
        ("task_something_new", None, False, TaskState.RUNNING),
    ],
)
def test_task_state(status: str, pexit: str | None, outputs: bool, state: TaskState) -> None:
    assert task_state(status, pexit, outputs) is state


def test_only_three_states_are_terminal() -> None:
    assert {s for s in TaskState if s.terminal} == {
        TaskState.SUCCEEDED,
        TaskState.FAILED,
        TaskState.CANCELLED,
    }
