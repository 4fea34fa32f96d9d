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


def _constants(prefix_lost):
    return {name: value for name, value in vars(diag).items()
            if name.isupper() and type(value) is str and name.startswith("LOST_") == prefix_lost}


def test_codes_are_the_kebab_case_of_their_names_and_distinct():
    """Each stable code reads as its constant's name (QUEUE_FULL is 'queue-full'); no two codes are equal."""
    codes = _constants(False)
    assert len(codes) >= 25 and "SDK_ERROR" in codes and "TAB_HANDOVER" in codes
    assert {name: name.lower().replace("_", "-") for name in codes} == codes
    assert len(set(codes.values())) == len(codes)


def test_loss_reasons_are_the_kebab_case_of_their_names():
    """The reasons of ``lost`` read as their names without LOST_ (LOST_STORAGE_EVICTED is 'storage-evicted')."""
    reasons = _constants(True)
    assert set(reasons) == {"LOST_QUEUE_FULL", "LOST_STORAGE_EVICTED", "LOST_DEAD_LETTERED", "LOST_EARLY_DROPPED"}
    assert {name: name[5:].lower().replace("_", "-") for name in reasons} == reasons


def test_report_returns_its_entry_with_empty_details_by_default_and_counts_one_loss():
    """Without details an entry has {}; without count a loss counts one; the entry kept is the one returned."""
    d = Diagnostics()
    entry = d.report(diag.BEACON_DEAD_LETTERED, "dead", lost=diag.LOST_DEAD_LETTERED)
    assert entry == {"code": "beacon-dead-lettered", "message": "dead", "details": {}} and d.entries == [entry]
    assert d.lost == {"dead-lettered": 1}
    assert d.count("store-failed") == 0


def test_a_hook_sees_each_entry_and_the_default_bound_is_200():
    """The hook gets every entry as it is made; by default the newest 200 entries are kept."""
    seen = []
    d = Diagnostics(seen.append)
    for i in range(201):
        d.report(diag.INVALID_RATE, "rate %d" % i, {"i": i})
    assert len(d.entries) == 200 and d.entries[0]["details"] == {"i": 1}
    assert len(seen) == 201 and seen[-1] is d.entries[-1]


def test_a_hook_failure_entry_names_the_error():
    """The hook-failed entry has the usual three fields, its details holding the hook's exception."""
    def hook(entry):
        raise ValueError("bad")

    d = Diagnostics(hook)
    d.report(diag.STORE_FAILED, "storage failed")
    failed = d.entries[1]
    assert set(failed) == {"code", "message", "details"}
    assert failed["code"] == "hook-failed" and failed["details"] == {"error": "ValueError('bad')"}
