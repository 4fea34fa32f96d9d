"""The e2e waits and the stored-once check fail when their condition does not hold."""

import pytest

from kaltura_web.collector.store import Store
from e2e_helpers import Arrivals, assert_stored_once, wait_in_page, wait_until


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


class StoreHandle:
    """What assert_stored_once reads of ``kaltura_collector``: events() and arrivals."""

    def __init__(self, store):
        self.store = store
        self.arrivals = Arrivals(store)

    def events(self):
        return self.store.events()

    def collect(self, beacon_id):
        self.store.insert(service="stats", fields={"eventType": 3}, event_type=3, session_id="s1",
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


def test_stored_once_sees_a_resend_the_store_hid():
    """A beacon inserted twice is stored once by the collector, yet assert_stored_once fails on it."""
    kc = StoreHandle(Store(":memory:"))
    try:
        kc.collect("b-1")
        kc.collect("b-2")
        assert_stored_once(kc)
        kc.collect("b-1")
        assert [e["beacon_id"] for e in kc.events()] == ["b-1", "b-2"]  # the store de-duplicated it
        with pytest.raises(AssertionError, match=r"sent again .*'b-1'"):
            assert_stored_once(kc)
        assert_stored_once(kc, may_repeat=["b-1"])
    finally:
        kc.arrivals.stop()
        kc.store.close()


def test_wait_in_page_fails_naming_what_and_what_the_page_shows(page):
    """A page condition that never holds is an AssertionError with what was awaited and the observed value."""
    page.set_content("<p>nothing happens here</p>")
    with pytest.raises(AssertionError, match=r"waiting for the flag; the page shows 'nothing happens here'"):
        wait_in_page(page, "window.flag === true", "the flag", observe="document.body.innerText", timeout=300)
