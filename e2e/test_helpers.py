"""The e2e waits and the stored-once check fail when their condition does not hold."""

import pytest

from e2e_helpers import assert_stored_once, wait_in_page, wait_until


class FakeClock:
    """A monotonic clock that only moves when the code under test sleeps."""

    def __init__(self):
        self.now = 100.0
        self.slept = 0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds
        self.slept += 1


def collect(kc, beacon_id):
    """Store one stats event with ``beacon_id`` in the collector, as its endpoint would."""
    kc.server.store.insert(service="stats", fields={"eventType": 3}, event_type=3, session_id="s1",
                           beacon_id=beacon_id)


def test_wait_until_fails_naming_what_and_the_last_value():
    """A condition that never comes is an AssertionError naming what was awaited and the last value."""
    clock = FakeClock()
    with pytest.raises(AssertionError, match=r"waiting for the first send; last saw 0$"):
        wait_until(lambda: 0, "the first send", timeout=1.0, clock=clock, sleep=clock.sleep)
    assert clock.now >= 101.0 and clock.slept > 1


def test_wait_until_returns_the_value_that_held():
    """wait_until returns the first value ``until`` accepts, without waiting past it."""
    values = iter([0, 1, 2, 3])
    clock = FakeClock()
    got = wait_until(lambda: next(values), "two failures", until=lambda n: n >= 2, clock=clock, sleep=clock.sleep)
    assert (got, clock.slept) == (2, 2)


def test_stored_once_fails_on_a_beacon_that_arrived_twice(kaltura_collector):
    """A beacon stored twice (the collector keeps every arrival) fails assert_stored_once unless allowed."""
    kc = kaltura_collector
    collect(kc, "b-1")
    collect(kc, "b-2")
    assert_stored_once(kc)
    collect(kc, "b-1")
    assert [e["beacon_id"] for e in kc.events(duplicates=True)] == ["b-1", "b-2", "b-1"]
    with pytest.raises(AssertionError, match=r"more than once .*'b-1'"):
        assert_stored_once(kc)
    assert_stored_once(kc, may_repeat=["b-1"])


def test_wait_in_page_fails_naming_what_and_what_the_page_shows(page):
    """A page condition that never holds is an AssertionError with what was awaited and the observed value."""
    page.set_content("<p>nothing happens here</p>")
    with pytest.raises(AssertionError, match=r"waiting for the flag; the page shows 'nothing happens here'"):
        wait_in_page(page, "window.flag === true", "the flag", observe="document.body.innerText", timeout=300)
