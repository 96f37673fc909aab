"""Prediction creates paced under Replicate's limit: no sixty seconds ever hold more than the
configured number, counted in the shared cache (a clock of our own instead of waiting)."""

from __future__ import annotations

from bisect import bisect_left

from training.replicate.pacing import wait_for_create_slot, window_share


class FakeClock:
    """Time that moves only when the code under test sleeps, or when the test says so."""

    def __init__(self, start: float) -> None:
        self.now = start
        self.slept = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += seconds


def most_in_any_minute(moments: list[float]) -> int:
    moments = sorted(moments)
    return max(bisect_left(moments, start + 60) - index for index, start in enumerate(moments))


def test_it_never_lets_sixty_seconds_hold_more_than_the_limit() -> None:
    clock = FakeClock(start=1_000_003.0)  # mid-window: a burst straddles a window's end
    moments = []
    for _ in range(1500):  # a flood of orders, as fast as the threads can go
        wait_for_create_slot(per_minute=600, clock=clock, sleep=clock.sleep)
        moments.append(clock.now)
        clock.now += 0.001

    assert most_in_any_minute(moments) <= 600
    assert len(moments) / (moments[-1] - moments[0]) * 60 > 500  # and still near the limit


def test_it_does_not_wait_while_under_the_limit() -> None:
    clock = FakeClock(start=2_000_000.0)

    for _ in range(window_share(600)):
        assert wait_for_create_slot(per_minute=600, clock=clock, sleep=clock.sleep) == 0.0

    assert clock.slept == 0.0
    assert wait_for_create_slot(per_minute=600, clock=clock, sleep=clock.sleep) > 0.0


def test_it_holds_the_smallest_limit_the_settings_allow() -> None:
    clock = FakeClock(start=3_000_000.0)
    moments = []
    for _ in range(200):
        wait_for_create_slot(per_minute=60, clock=clock, sleep=clock.sleep)
        moments.append(clock.now)

    assert most_in_any_minute(moments) <= 60
