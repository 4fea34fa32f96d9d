import urllib.parse

import pytest

from kaltura_web import MemoryStore
from kaltura_web.cpython import SQLiteStore
from kaltura_web.core.delivery import DeliveryEngine
from kaltura_web.core.ports import Response
from tests.fakes import (INVALID_KS, MISSING, TRANSIENT_ERROR, FakeClock, ScriptedTransport, make_tracker,
                         retry_round, sequence, sync_sender)
from tests.fakes import calls as fakes_calls



def test_backoff_schedule_is_1_2_4_seconds():
    """Transient failures retry after 1, 2 and 4 s, then wait for a trigger or a capped timer."""
    clock = FakeClock()
    transport = ScriptedTransport(sequence(then=(500, "")))
    tracker = make_tracker(clock)
    sender = sync_sender(tracker, clock, transport)
    tracker.report(3, "e")
    times = []
    transport.handler = lambda req: (times.append(clock.now), (500, ""))[1]
    retry_round(tracker, clock, sender)
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert gaps == [1.0, 2.0, 4.0]
    assert tracker.engine.status()["s"]["state"] == "stalled"
    assert tracker.next_wakeup() - clock.now == 8.0  # then 16, 32, 60, 60 ...
    assert tracker.pending() == 1


def test_stalled_timer_caps_at_60_seconds():
    """After the three retries, the stalled timer grows and never exceeds 60 s."""
    clock = FakeClock()
    tracker = make_tracker(clock)
    sender = sync_sender(tracker, clock, ScriptedTransport(sequence(then=(503, ""))))
    tracker.report(3, "e")
    waits = []
    for _ in range(10):
        sender.pump()
        wake = tracker.next_wakeup()
        waits.append(wake - clock.now)
        clock.now = wake
    assert waits == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 60.0, 60.0]


def test_new_beacon_triggers_a_stalled_queue():
    """A new beacon restarts a stalled queue at once, in order."""
    clock = FakeClock()
    transport = ScriptedTransport(sequence((500, ""), (500, ""), (500, ""), (500, "")))
    tracker = make_tracker(clock)
    sender = sync_sender(tracker, clock, transport)
    tracker.report(1, "e")
    retry_round(tracker, clock, sender)
    assert tracker.engine.status()["s"]["state"] == "stalled"
    tracker.report(2, "e")
    sender.pump()
    assert transport.event_types()[-2:] == [1, 2]
    assert tracker.pending() == 0


def test_event_timestamp_is_the_observation_time_on_retry():
    """eventTimestamp is the second of the observation, not of the (re)send."""
    clock = FakeClock()
    transport = ScriptedTransport(sequence((500, ""), (500, "")))
    tracker = make_tracker(clock)
    tracker.report(3, "e")
    clock.now += 100
    assert sync_sender(tracker, clock, transport).flush(timeout=30)
    stamps = {dict(urllib.parse.parse_qsl(r.body))["event[eventTimestamp]"] for r in transport.requests}
    assert stamps == {"1700000000"}


def test_invalid_ks_pauses_and_provider_ks_delivers_backlog():
    """INVALID_KS with HTTP 200 pauses the queue; the provider is asked once; the backlog goes out with the new KS."""
    clock = FakeClock()
    asked = []
    tracker = make_tracker(clock, ks="old-ks", ks_provider=lambda: asked.append(1) or "new-ks")
    transport = ScriptedTransport(lambda req: (200, INVALID_KS) if "ks=old-ks" in req.body else (200, "null"))
    for t in (1, 2, 3):
        tracker.report(t, "e")
    assert sync_sender(tracker, clock, transport).flush(timeout=5)
    assert asked == [1]
    kss = [beacon["ks"] for beacon in transport.beacons()]
    assert kss == ["old-ks", "old-ks", "old-ks", "new-ks", "new-ks", "new-ks"]
    assert transport.event_types() == [1, 2, 3, 1, 2, 3]


def test_auth_failure_without_provider_waits_for_a_new_ks():
    """Without a provider the queue stays paused until a different KS is set, losing nothing."""
    clock = FakeClock()
    tracker = make_tracker(clock, ks="old-ks")
    transport = ScriptedTransport(lambda req: (401, "") if "ks=old-ks" in req.body else (200, "null"))
    tracker.page_load("lobby")
    tracker.page_load("session")
    sender = sync_sender(tracker, clock, transport)
    assert not sender.flush(timeout=120)
    assert tracker.pending() == 2 and len(transport.requests) == 1
    tracker.set_ks("old-ks")  # the same KS does not resume
    sender.pump()
    assert len(transport.requests) == 1
    tracker.set_ks("fresh-ks")
    assert sender.flush(timeout=1)
    assert tracker.pending() == 0


def test_provider_is_asked_once_per_auth_episode():
    """A provider that keeps returning rejected KSs is not asked in a loop."""
    clock = FakeClock()
    asked = []
    tracker = make_tracker(clock, ks="a", ks_provider=lambda: asked.append(1) or "b%d" % len(asked))
    transport = ScriptedTransport(lambda req: (200, INVALID_KS))
    tracker.report(3, "e")
    sync_sender(tracker, clock, transport).flush(timeout=300)
    assert asked == [1] and tracker.pending() == 1


def test_bad_beacon_is_dead_lettered_and_does_not_block():
    """A rejected beacon goes to the dead-letter list with its reason; the ones behind it are delivered."""
    clock = FakeClock()
    store = MemoryStore()
    tracker = make_tracker(clock, store=store)
    transport = ScriptedTransport(sequence((200, MISSING)))
    for t in (1, 2, 3):
        tracker.report(t, "e")
    assert sync_sender(tracker, clock, transport).flush(timeout=1)
    assert transport.event_types() == [1, 2, 3]
    dead = store.dead_letters("s")
    assert len(dead) == 1 and dead[0]["reason"] == "MISSING_MANDATORY_PARAMETER"
    assert dead[0]["record"]["e"] == 1


def test_404_pauses_only_its_queue():
    """A 404 on the analytics URL pauses trackEvent delivery only and reports a configuration error."""
    clock = FakeClock()
    tracker = make_tracker(clock)
    transport = ScriptedTransport(lambda req: (404, "") if "trackEvent" in req.url else (200, "null"))
    tracker.page_load("lobby")
    tracker.report(3, "e")
    tracker.report(4, "e")
    sender = sync_sender(tracker, clock, transport)
    sender.flush(timeout=60)
    assert tracker.engine.status()["t"]["state"] == "paused_config"
    assert tracker.engine.pending("s") == 0 and tracker.engine.pending("t") == 1
    assert "endpoint-misconfigured" in [d["code"] for d in tracker.diagnostics]
    transport.handler = lambda req: (200, "null")
    tracker.engine.resume(clock.now)
    assert sender.flush(timeout=1)


def test_fifo_with_one_request_in_flight_per_queue():
    """Each endpoint queue has at most one request in flight and keeps FIFO order."""
    clock = FakeClock()
    tracker = make_tracker(clock, batch_size=1)
    for t in (1, 2, 3):
        tracker.report(t, "e")
    tracker.page_load("a")
    tracker.page_load("b")
    first = tracker.due_requests()
    assert sorted(r.queue for r in first) == ["s", "t"]
    assert tracker.due_requests() == []
    for r in first:
        tracker.handle_response(r, 200, "null")
    second = tracker.due_requests()
    types = sorted(dict(urllib.parse.parse_qsl(r.body)).get("event[eventType]", "x") for r in second)
    assert types == ["2", "x"]


def test_bounded_queue_drops_oldest_and_counts():
    """Overflow drops the oldest beacons with a counter instead of raising."""
    clock = FakeClock()
    tracker = make_tracker(clock, max_queue=5)
    for i in range(8):
        tracker.report(3, "e%d" % i)
    assert [r["n"] for r in tracker.queued()] == ["e3", "e4", "e5", "e6", "e7"]
    assert tracker.engine.dropped == 3


def test_overflow_never_drops_the_beacon_in_flight():
    """The record awaiting an answer survives overflow so its answer still settles it."""
    clock = FakeClock()
    tracker = make_tracker(clock, max_queue=3)
    tracker.report(3, "e0")
    (req,) = tracker.due_requests()
    for i in range(1, 6):
        tracker.report(3, "e%d" % i)
    assert [r["n"] for r in tracker.queued()] == ["e0", "e4", "e5"]
    tracker.handle_response(req, 200, "null")
    assert [r["n"] for r in tracker.queued()] == ["e4", "e5"]


def test_offline_holds_and_online_resumes():
    """Nothing is sent while offline; going online sends the backlog in order."""
    clock = FakeClock()
    tracker = make_tracker(clock)
    transport = ScriptedTransport()
    sender = sync_sender(tracker, clock, transport)
    tracker.set_online(False)
    for t in (1, 2, 3):
        tracker.report(t, "e")
    sender.pump()
    assert transport.requests == []
    tracker.set_online(True)
    sender.pump()
    assert transport.event_types() == [1, 2, 3]


class ExplodingStore(MemoryStore):
    def append(self, queue, record):
        raise OSError("QuotaExceededError")


def test_store_failure_falls_back_to_memory():
    """A store that fails (quota, disabled) is dropped; delivery continues in memory and says so."""
    clock = FakeClock()
    tracker = make_tracker(clock, store=ExplodingStore())
    transport = ScriptedTransport()
    tracker.report(3, "e")
    tracker.report(4, "e")
    assert tracker.engine.store_failed
    assert "store-failed" in [d["code"] for d in tracker.diagnostics]
    assert sync_sender(tracker, clock, transport).flush(timeout=1)
    assert transport.event_types() == [3, 4]


def test_record_is_persisted_before_it_is_sent():
    """The store holds a beacon before the transport sees it, and forgets it once accepted."""
    clock = FakeClock()
    store = MemoryStore()
    tracker = make_tracker(clock, store=store)
    seen = []
    transport = ScriptedTransport(lambda req: (seen.append(len(store.load("s"))), (200, "null"))[1])
    tracker.report(3, "e")
    sync_sender(tracker, clock, transport).pump()
    assert seen == [1] and store.load("s") == []


def test_sqlite_store_survives_a_process_death(tmp_path):
    """A kiosk that dies keeps its queue on disk; the next process delivers it in order."""
    path = tmp_path / "queue.db"
    clock = FakeClock()
    first = make_tracker(clock, store=SQLiteStore(path))
    for t in (1, 2, 3):
        first.report(t, "e")
    first.engine.store.close()  # the process dies without sending
    transport = ScriptedTransport()
    second = make_tracker(clock, store=SQLiteStore(path))
    assert second.pending() == 3
    assert sync_sender(second, clock, transport).flush(timeout=1)
    assert transport.event_types() == [1, 2, 3]
    third = make_tracker(clock, store=SQLiteStore(path))
    assert third.pending() == 0


def test_engine_rejects_bad_configuration():
    """Wrong engine settings raise at construction."""
    with pytest.raises(ValueError):
        DeliveryEngine(max_queue=0)


def test_on_enqueue_hook_and_out_of_band_acknowledge():
    """Drivers are woken on each new beacon, and a record acknowledged out of band (keepalive) leaves the queue."""
    clock = FakeClock()
    tracker = make_tracker(clock, batch_size=1)
    woken = []
    tracker.engine.on_enqueue = lambda record: woken.append(record["e"])
    a = tracker.report(1, "e")
    b = tracker.report(2, "e")
    assert woken == [1, 2]
    (req,) = tracker.due_requests()  # a is in flight
    assert not tracker.engine.acknowledge("s", a["i"], clock.now)  # its own answer settles it
    assert tracker.engine.acknowledge("s", b["i"], clock.now)
    tracker.handle_response(req, 200, "null")
    assert tracker.pending() == 0 and tracker.engine.accepted == 2


def test_backlog_drains_in_ordered_multirequest_batches():
    """A stats backlog goes out as ordered multirequests of batch_size beacons, one in flight."""
    clock = FakeClock()
    tracker = make_tracker(clock, batch_size=4)
    transport = ScriptedTransport()
    for i in range(10):
        tracker.report(3, "e%d" % i)
    assert sync_sender(tracker, clock, transport).flush(timeout=1)
    assert [len(fakes_calls(r)) for r in transport.requests] == [4, 4, 2]
    assert all("/service/multirequest" in r.url for r in transport.requests)
    assert [b["event[entryId]"] for b in transport.beacons()] == ["e%d" % i for i in range(10)]


def test_batch_settles_call_by_call():
    """In a batch, accepted and bad calls leave the queue wherever they sit; only the transient call stays queued."""
    clock = FakeClock()
    store = MemoryStore()
    tracker = make_tracker(clock, store=store, batch_size=10)
    answers = {"e1": (200, MISSING), "e3": (500, "")}
    transport = ScriptedTransport(lambda req: answers.get(dict(urllib.parse.parse_qsl(req.body))["event[entryId]"], (200, "null")))
    for i in range(5):
        tracker.report(3, "e%d" % i)
    (req,) = tracker.due_requests()
    reply = transport.send(req)
    assert reply.status == 500  # an HTTP-level failure fails the whole multirequest
    tracker.handle_response(req, reply.status, reply.body)
    assert [r["n"] for r in tracker.queued()] == ["e0", "e1", "e2", "e3", "e4"]
    answers["e3"] = (200, '{"code":"INTERNAL_SERVER_ERROR","objectType":"KalturaAPIException"}')
    clock.now = tracker.next_wakeup()
    (req,) = tracker.due_requests()
    tracker.sender_core.receive(req, transport.send(req))
    assert [r["n"] for r in tracker.queued()] == ["e3"]
    assert [d["record"]["n"] for d in store.dead_letters("s")] == ["e1"]
    assert tracker.engine.status()["s"]["state"] == "waiting"


def test_single_beacon_is_sent_as_plain_stats_collect():
    """Without a backlog a beacon goes to stats.collect itself, as in the guide."""
    tracker = make_tracker()
    tracker.report(3, "e")
    (req,) = tracker.due_requests()
    assert req.url.endswith("/service/stats/action/collect") and req.beacon_ids == (req.beacon_id,)


def test_batch_over_the_byte_cap_sends_a_prefix_and_keeps_the_rest_queued():
    """A multirequest stops adding calls at the byte cap; the records it did not carry stay queued, in order."""
    from kaltura_web.core.encoding import encode_batch

    tracker = make_tracker(referrer="https://portal.example/" + "x" * 500)
    for i in range(6):
        tracker.report(3, "e%d" % i)
    records = tracker.queued()
    req = encode_batch(records, "ks", tracker.service_url, max_bytes=2500)
    assert 1 < len(req.beacon_ids) < 6 and len(req.body) <= 2500
    assert list(req.beacon_ids) == [r["i"] for r in records[:len(req.beacon_ids)]]
    (sent,) = tracker.due_requests()
    tracker.handle_response(sent, 200, "[" + ",".join(["null"] * len(sent.beacon_ids)) + "]")
    assert [r["n"] for r in tracker.queued()] == ["e%d" % i for i in range(len(sent.beacon_ids), 6)]


def _entry_of(request):
    return dict(urllib.parse.parse_qsl(request.body))["event[entryId]"]


@pytest.mark.parametrize("answer, resent", [
    ((200, TRANSIENT_ERROR), ["e1"]),
    ((200, INVALID_KS), ["e1"]),
    ((200, MISSING), []),
])
def test_multirequest_slot_failure_resends_only_that_slot(answer, resent):
    """Slot 2 of 5 failing (transient, auth or bad beacon): the other four, which Kaltura executed, are never sent again."""
    clock = FakeClock()
    store = MemoryStore()
    tracker = make_tracker(clock, store=store, batch_size=5, ks_provider=lambda: "ks-two")
    failed = []

    def handler(request):
        if _entry_of(request) == "e1" and not failed:
            failed.append(1)
            return answer
        return 200, "true"

    transport = ScriptedTransport(handler)
    records = [tracker.report(3, "e%d" % i) for i in range(5)]
    assert sync_sender(tracker, clock, transport).flush(timeout=30)
    counts = transport.sent_counts()
    assert {r["n"]: counts[r["i"]] for r in records} == {
        "e%d" % i: (2 if "e%d" % i in resent else 1) for i in range(5)}
    assert len(transport.requests) == 1 + len(resent)
    dead = [d["record"]["n"] for d in store.dead_letters("s")]
    assert dead == ([] if resent else ["e1"])


def test_failed_slots_stay_at_the_head_in_order_and_the_worst_sets_the_state():
    """Slots 2 (transient) and 4 (auth) fail: both stay queued, in order, ahead of newer beacons; the queue pauses for a KS."""
    clock = FakeClock()
    tracker = make_tracker(clock, batch_size=5)
    for i in range(5):
        tracker.report(3, "e%d" % i)
    (req,) = tracker.due_requests()
    tracker.report(3, "e5")
    body = "[true,%s,true,%s,true]" % (TRANSIENT_ERROR, INVALID_KS)
    step = tracker.sender_core.receive(req, Response(200, None, body))
    assert step.outcome == "auth" and step.accepted == 3
    assert [r["n"] for r in tracker.queued()] == ["e1", "e3", "e5"]
    assert tracker.engine.status()["s"]["state"] == "paused_auth"
    assert tracker.engine.accepted == 3


def test_a_whole_request_failure_retries_the_whole_batch():
    """No answer, HTTP 5xx or a malformed answer mean nothing was executed: every beacon of the batch is sent again."""
    clock = FakeClock()
    tracker = make_tracker(clock, batch_size=3)
    for i in range(3):
        tracker.report(3, "e%d" % i)
    for status, body in ((None, ""), (503, ""), (200, "[true]"), (200, "<html>")):
        (req,) = tracker.due_requests(clock.now)
        assert tracker.handle_response(req, status, body) == "transient"
        assert [r["n"] for r in tracker.queued()] == ["e0", "e1", "e2"]
        clock.now = tracker.next_wakeup()


def _stored(records):
    store = MemoryStore()
    for record in records:
        store.append(record["k"], record)
    return store


def test_a_stored_beacon_that_cannot_be_encoded_is_dead_lettered_and_the_queue_goes_on():
    """A record from an older version holding a lone surrogate is dead-lettered with its id and reason; flush never raises."""
    clock = FakeClock()
    old = make_tracker(clock, application="kiosk")
    good = old.page_load("lobby")
    bad = dict(old.page_load("lobby"), pn="report-\udcff.mp4")  # stored before the API checked
    later = old.page_load("after")
    store = _stored([good, bad, later])
    diagnostics = []
    tracker = make_tracker(clock, store=store, on_diagnostic=diagnostics.append)
    transport = ScriptedTransport()
    sender = sync_sender(tracker, clock, transport)
    assert sender.flush(timeout=5)
    assert sender.flush(timeout=5)  # and again: nothing is left to block a later run
    assert [b["beaconId"] for b in transport.beacons()] == [good["i"], later["i"]]
    (dead,) = store.dead_letters("t")
    assert dead["record"]["i"] == bad["i"] and "UnicodeEncodeError" in dead["reason"]
    (entry,) = [d for d in diagnostics if d["code"] == "beacon-dead-lettered"]
    details = entry["details"]
    assert details["beacon"] == bad["i"] and "cannot be encoded" in details["reason"]


def test_an_unencodable_beacon_inside_a_backlog_batch_does_not_hold_the_others():
    """A corrupt stats record in the middle of a multirequest backlog: the rest go out once, in order."""
    clock = FakeClock()
    old = make_tracker(clock)
    records = [old.report(3, "e%d" % i) for i in range(6)]
    records[3] = dict(records[3], r="https://x.example/\udcff")
    store = _stored(records)
    tracker = make_tracker(clock, store=store, batch_size=4)
    transport = ScriptedTransport()
    assert sync_sender(tracker, clock, transport).flush(timeout=5)
    assert [b["event[entryId]"] for b in transport.beacons()] == ["e0", "e1", "e2", "e4", "e5"]
    assert set(transport.sent_counts().values()) == {1}
    assert [d["record"]["n"] for d in store.dead_letters("s")] == ["e3"]


def test_a_corrupt_durable_queue_from_an_older_version_drains(tmp_path):
    """An SQLite queue holding an unencodable record (written by an older version) drains after a restart."""
    path = tmp_path / "queue.db"
    clock = FakeClock()
    store = SQLiteStore(path)
    old = make_tracker(clock)
    first = old.report(1, "e")
    store.append("s", dict(old.report(2, "e"), n="e-\udcff"))
    store.append("s", first)
    store.close()
    tracker = make_tracker(clock, store=SQLiteStore(path))
    transport = ScriptedTransport()
    assert sync_sender(tracker, clock, transport).flush(timeout=5)
    assert transport.event_types() == [1]
    assert len(tracker.engine.store.dead_letters("s")) == 1
    tracker.engine.store.close()


@pytest.mark.parametrize("answer", [123, b"djJ8MTAwfABCDEFGHIJK", None, "", "djJ8\udcff", ["ks"]])
def test_a_ks_provider_answering_no_usable_ks_never_breaks_flush(answer):
    """A provider returning a non-string (or an unusable string) is a failed answer: a diagnostic, delivery stays paused."""
    clock = FakeClock()
    tracker = make_tracker(clock, ks="old-ks", ks_provider=lambda: answer)
    transport = ScriptedTransport(lambda req: (200, INVALID_KS))
    tracker.report(3, "e")
    assert not sync_sender(tracker, clock, transport).flush(timeout=5)
    assert tracker.ks == "old-ks" and tracker.pending() == 1
    assert tracker.engine.status()["s"]["state"] == "paused_auth"
    (diag,) = [d for d in tracker.diagnostics if d["code"] == "ks-provider-failed"]
    assert "djJ8MTAw" not in repr(diag)  # a wrong answer is never shown


@pytest.mark.parametrize("answer", [123, b"djJ8MTAw", "", "djJ8\udcff"])
def test_browser_sender_treats_a_non_string_ks_as_a_failed_answer(answer):
    """The browser's AsyncSender refuses a provider answer that is not a usable KS string, with a diagnostic."""
    import asyncio

    from kaltura_web.browser.driver import AsyncSender

    tracker = make_tracker(ks="old-ks", ks_provider=lambda: answer)
    sender = AsyncSender(tracker, transport=None)
    assert asyncio.run(sender.refresh_ks()) is None
    assert tracker.ks == "old-ks"
    assert "ks-provider-failed" in [d["code"] for d in tracker.diagnostics]
