"""The worker's start-up retry for the heartbeat monitors and the hand-off workflows."""

from __future__ import annotations

from escalator.worker.start_each import start_each_until_started


async def test_each_item_is_started_and_the_failed_ones_again_until_none_is_left() -> None:
    fails = {"b": 2}  # b fails twice, then starts
    started: list[str] = []
    told: list[tuple[str, str]] = []

    async def start(item: str) -> None:
        if fails.get(item):
            fails[item] -= 1
            raise RuntimeError("Temporal unreachable")
        started.append(item)

    def not_yet(item: str, err: Exception) -> None:
        told.append((item, str(err)))

    await start_each_until_started(["a", "b", "c"], start, not_yet, retry_every=0)
    assert started == ["a", "c", "b"]
    assert told == [("b", "Temporal unreachable")] * 2
