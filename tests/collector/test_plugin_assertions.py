"""The pytest plugin's session assertions, against the real collector fixture."""

import math

import pytest

from kaltura_web.pytest_plugin import CollectorHandle, event_number
from tests.fakes import FakeClock

from collector_helpers import http, stats_fields

STARTED = ["WIDGET_LOADED", "MEDIA_LOADED", "PLAY"]


def store(kc, session_id, types):
    """Send stats.collect events of ``types`` for ``session_id`` through the collector's HTTP API."""
    ks = kc.ks("plugin@example.com")
    url = kc.service_url + "/service/stats/action/collect"
    for event_type in types:
        status, _, body = http("POST", url, stats_fields(kc, session_id, event_type, ks=ks))
        assert (status, body) == (200, b"null")


def test_assert_session_is_exact(kaltura_collector):
    """assert_session compares the whole session: a quartile stored after PLAY makes a three-event list fail."""
    kc = kaltura_collector
    store(kc, "s1", [1, 2, 3, 4])
    kc.assert_session("s1", [1, 2, 3, 4])
    kc.assert_session("s1", STARTED + ["PLAY_REACHED_25"])
    with pytest.raises(AssertionError) as err:
        kc.assert_session("s1", STARTED)
    assert "to be exactly [WIDGET_LOADED(1), MEDIA_LOADED(2), PLAY(3)]" in str(err.value)
    assert "got [WIDGET_LOADED(1), MEDIA_LOADED(2), PLAY(3), PLAY_REACHED_25(4)]" in str(err.value)


def test_starts_with_allows_later_events(kaltura_collector):
    """assert_session_starts_with passes when the session begins with the types, whatever follows, and fails otherwise."""
    kc = kaltura_collector
    store(kc, "s1", [1, 2, 3, 4, 5])
    events = kc.assert_session_starts_with("s1", STARTED)
    assert [e["event_type"] for e in events] == [1, 2, 3, 4, 5]
    kc.assert_session_starts_with("s1", [1, 2, 3, 4, 5])
    for wrong in (["MEDIA_LOADED", "PLAY"], [1, 2, 3, 4, 5, 6], ["WIDGET_LOADED", "PLAY"]):
        with pytest.raises(AssertionError, match="to start with"):
            kc.assert_session_starts_with("s1", wrong)


def test_contains_checks_order_not_adjacency(kaltura_collector):
    """assert_session_contains finds the types in order with other events between, and fails on wrong order or a missing type."""
    kc = kaltura_collector
    store(kc, "s1", [1, 2, 3, 17, 6, 7])
    kc.assert_session_contains("s1", ["PLAY", "PLAY_REACHED_100"])
    kc.assert_session_contains("s1", [1, "SEEK", 7])
    for wrong in (["PLAY_REACHED_100", "PLAY"], ["PLAY_REACHED_50"], ["PLAY", "PLAY"]):
        with pytest.raises(AssertionError, match="in this order; got"):
            kc.assert_session_contains("s1", wrong)


def test_unknown_session_lists_the_stored_sessions(kaltura_collector):
    """A session id with no events fails with the session ids that were stored."""
    kc = kaltura_collector
    store(kc, "real-session", [1])
    with pytest.raises(AssertionError, match=r"got \[\] \(no events with that session id; "
                                             r"sessions stored: \['real-session'\]\)"):
        kc.assert_session_starts_with("typo-session", [1])


def test_event_names_from_the_catalog(kaltura_collector):
    """Stats and application event names resolve to their numbers, also in the events() filter."""
    kc = kaltura_collector
    assert [event_number(n) for n in ("WIDGET_LOADED", "PLAY_REACHED_100", "ButtonClicked", "PageLoad", 40)] == \
        [1, 7, 10002, 10003, 40]
    store(kc, "s1", [1, 2, 3])
    assert [e["event_type"] for e in kc.events(event_type="PLAY")] == [3]
    assert [e["event_type"] for e in kc.wait_for_events(event_type="MEDIA_LOADED")] == [2]


def test_wait_for_session_polls_until_the_condition_holds(kaltura_collector):
    """wait_for_session keeps polling while events arrive and returns the session once it contains the types."""
    kc = kaltura_collector
    arriving = [[1, 2], [3], [4, 5], [6, 7]]
    clock = FakeClock()

    def sleep(seconds):  # each poll interval, the next events reach the collector
        clock.sleep(seconds)
        store(kc, "s1", arriving.pop(0))

    waiting = CollectorHandle(kc.server, sleep=sleep, monotonic=clock)
    events = waiting.wait_for_session("s1", starts_with=STARTED, contains=["PLAY_REACHED_100"])
    assert [e["event_type"] for e in events] == [1, 2, 3, 4, 5, 6, 7]
    assert arriving == []


def test_wait_for_session_times_out_showing_what_was_seen(kaltura_collector):
    """When the condition never holds, wait_for_session fails after the timeout with the events it saw."""
    kc = kaltura_collector
    store(kc, "s1", [1, 2, 3, 4])
    clock = FakeClock()
    waiting = CollectorHandle(kc.server, sleep=clock.sleep, monotonic=clock)
    with pytest.raises(AssertionError) as err:
        waiting.wait_for_session("s1", contains=["PLAY", "PLAY_REACHED_100"], timeout=1.5)
    assert str(err.value) == (
        "timed out after 1.5s waiting for session 's1' to contain [PLAY(3), PLAY_REACHED_100(7)] in this order; "
        "got [WIDGET_LOADED(1), MEDIA_LOADED(2), PLAY(3), PLAY_REACHED_25(4)]")
    assert 1.5 <= clock.now - FakeClock().now < 1.8


def resend(kc, session_id, beacons):
    """Send one stats.collect event per beacon id (repeats included) for ``session_id``."""
    url = kc.service_url + "/service/stats/action/collect"
    for event_type, beacon_id in beacons:
        status, _, body = http("POST", url, stats_fields(kc, session_id, event_type, beaconId=beacon_id))
        assert (status, body) == (200, b"null")


def test_duplicates_and_stored_once_see_a_resent_beacon(kaltura_collector):
    """A beacon sent twice is listed by duplicates() and fails assert_stored_once unless allowed."""
    kc = kaltura_collector
    resend(kc, "r1", [(1, "w"), (2, "m")])
    kc.assert_stored_once()
    assert kc.duplicates() == []
    resend(kc, "r1", [(2, "m"), (3, "p")])
    assert kc.duplicates() == ["m"]
    with pytest.raises(AssertionError, match=r"beacons stored more than once .*\['m'\]"):
        kc.assert_stored_once()
    kc.assert_stored_once(may_repeat=["m"])
    with pytest.raises(AssertionError, match="more than once"):
        kc.assert_stored_once(may_repeat=["w"])


def test_event_views_show_each_beacon_once_unless_asked(kaltura_collector):
    """events()/assert_session/verify() see the first arrivals; duplicates=True sees every arrival."""
    kc = kaltura_collector
    resend(kc, "r2", [(1, "w"), (2, "m"), (2, "m"), (3, "p")])
    kc.assert_session("r2", STARTED)
    assert [e["event_type"] for e in kc.events(session_id="r2", duplicates=True)] == [1, 2, 2, 3]
    assert kc.verify() == []
    assert [f.rule for f in kc.verify(duplicates=True)] == ["duplicate-beacon"]


def test_stored_once_needs_beacon_ids(kaltura_collector):
    """An event stored without a beacon id fails assert_stored_once (repeats could not be told)."""
    kc = kaltura_collector
    store(kc, "r3", [1])
    with pytest.raises(AssertionError, match="without a beacon id"):
        kc.assert_stored_once()


def test_wait_for_events_times_out_with_the_fake_clock(kaltura_collector):
    """wait_for_events (sharing the polling loop) fails after its timeout, listing what it saw."""
    kc = kaltura_collector
    store(kc, "s1", [1])
    clock = FakeClock()
    waiting = CollectorHandle(kc.server, sleep=clock.sleep, monotonic=clock)
    with pytest.raises(AssertionError, match=r"timed out after 2s waiting for 2 event\(s\) .* saw 1"):
        waiting.wait_for_events(2, timeout=2)


@pytest.mark.parametrize("call,exc,message", [
    (lambda kc: kc.assert_session_starts_with("s1", ["PLAYY"]), ValueError, "starts_with: unknown event name 'PLAYY'"),
    (lambda kc: kc.assert_session_contains("s1", "PLAY"), TypeError, "contains must be a list"),
    (lambda kc: kc.assert_session("s1", [True]), TypeError, "types: an event type"),
    (lambda kc: kc.assert_session("s1", [3.0]), TypeError, "types: an event type"),
    (lambda kc: kc.assert_session_starts_with(None, [1]), TypeError, "session_id must be a str"),
    (lambda kc: kc.assert_session("", [1]), ValueError, "session_id must not be empty"),
    (lambda kc: kc.assert_session_starts_with("s1", []), ValueError, "starts_with must name at least one"),
    (lambda kc: kc.wait_for_session("s1"), TypeError, "give starts_with= and/or contains="),
    (lambda kc: kc.wait_for_session("s1", contains=[1], timeout=math.nan), ValueError, "timeout must be finite"),
    (lambda kc: kc.wait_for_session("s1", contains=[1], timeout=0), ValueError, "timeout must be finite"),
    (lambda kc: kc.wait_for_session("s1", contains=[1], timeout="5"), TypeError, "timeout must be a number"),
    (lambda kc: kc.events(event_type="PLAYY"), ValueError, "event_type: unknown event name"),
    (lambda kc: kc.assert_stored_once(may_repeat="b-1"), TypeError, "may_repeat must be a list"),
])
def test_misuse_raises_naming_the_argument(kaltura_collector, call, exc, message):
    """Wrong arguments raise TypeError/ValueError naming the argument instead of asserting nonsense."""
    with pytest.raises(exc) as err:
        call(kaltura_collector)
    assert type(err.value) is exc and message in str(err.value)
