"""Diagnostics: stable codes, the ``lost`` counters and hooks that cannot break the SDK."""

from kaltura_web.core import diagnostics as diag
from kaltura_web.core.diagnostics import Diagnostics
from tests.fakes import FakeClock, make_tracker


def test_entries_carry_code_message_details_and_count_losses():
    """An entry is {code, message, details}; beacons lost for good add up per reason."""
    d = Diagnostics()
    d.report(diag.QUEUE_FULL, "queue full", {"dropped": 3}, lost=diag.LOST_QUEUE_FULL, count=3)
    d.report(diag.QUEUE_FULL, "queue full", {"dropped": 2}, lost=diag.LOST_QUEUE_FULL, count=2)
    d.report(diag.INVALID_RATE, "ignored playback rate nan")
    assert d.entries[0] == {"code": "queue-full", "message": "queue full", "details": {"dropped": 3}}
    assert d.lost == {"queue-full": 5}
    assert d.codes() == ["queue-full", "queue-full", "invalid-rate"] and d.count("queue-full") == 2


def test_a_raising_hook_is_recorded_not_propagated():
    """The host's on_diagnostic raising becomes a hook-failed entry after the original one."""
    def hook(entry):
        raise RuntimeError("host bug")

    d = Diagnostics(hook)
    d.report(diag.STORE_FAILED, "storage failed")
    assert d.codes() == ["store-failed", "hook-failed"]


def test_entries_are_bounded_oldest_dropped():
    """Only the newest ``limit`` entries are kept; the loss counters are not bounded."""
    d = Diagnostics(limit=3)
    for i in range(5):
        d.report(diag.BEACON_DEAD_LETTERED, "dead %d" % i, lost=diag.LOST_DEAD_LETTERED)
    assert [e["message"] for e in d.entries] == ["dead 2", "dead 3", "dead 4"]
    assert d.lost == {"dead-lettered": 5}


def test_tracker_counts_queue_overflow_as_lost():
    """The tracker's ``lost`` map counts the beacons the queue cap dropped, and the hook sees codes."""
    seen = []
    tracker = make_tracker(FakeClock(), max_queue=2, on_diagnostic=lambda e: seen.append(e["code"]))
    tracker.set_online(False)
    for _ in range(5):
        tracker.page_load("p")
    assert tracker.lost == {"queue-full": 3}
    assert seen == ["queue-full"] * 3
