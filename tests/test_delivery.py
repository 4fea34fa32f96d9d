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


# -- the engine on its own: queue states, shared-store operations, edge cases ------------

NOW = 1000.0


def bare_engine(**options):
    """An engine on a memory store whose diagnostics land in the returned list as (code, lost, count)."""
    seen = []
    options.setdefault("store", MemoryStore())
    engine = DeliveryEngine(diagnostics=lambda code, message, details, lost, count: seen.append((code, lost, count)),
                            **options)
    return engine, seen


def rec(n, kind="s"):
    """A minimal record: the engine only reads its id and kind."""
    return {"i": "b%d" % n, "k": kind, "e": 3}


def ids(records):
    return [r["i"] for r in records]


def _fail_head(engine, now, outcome="transient", retry_after=None):
    """Send the stats head at ``now`` and fail it; returns the wait until the queue is due again."""
    (batch,) = engine.ready_batches(now)
    engine.settle_batch("s", [(batch[0], outcome, "HTTP 500")], now, retry_after)
    wake = engine.next_wakeup()
    return None if wake is None else wake - now


class EvictingStore(MemoryStore):
    """A store that refuses to keep the records whose ids are in ``refuse`` (its budget is spent)."""

    def __init__(self, refuse=()):
        super().__init__()
        self.refuse = set(refuse)

    def append(self, queue, record):
        if record["i"] in self.refuse:
            return [(queue, record["i"])]
        return super().append(queue, record)


class LoadFailsLater(MemoryStore):
    """A store whose first load per queue works and every later one raises (storage disabled meanwhile)."""

    def __init__(self):
        super().__init__()
        self.loads = 0

    def load(self, queue):
        self.loads += 1
        if self.loads > 2:
            raise OSError("SecurityError: storage disabled")
        return super().load(queue)


def test_a_new_engine_is_idle_and_empty():
    """Both queues start idle, with nothing pending and no failed attempt."""
    engine, seen = bare_engine()
    assert engine.status() == {"s": {"state": "idle", "pending": 0, "attempts": 0},
                               "t": {"state": "idle", "pending": 0, "attempts": 0}}
    assert engine.ready_batches(NOW) == [] and engine.next_wakeup() is None and seen == []


def test_the_default_queue_cap_is_1000_records():
    """The 1001st record drops the oldest one (README: maxQueue defaults to 1000)."""
    engine, seen = bare_engine()
    for n in range(1001):
        engine.enqueue(rec(n), NOW)
    assert engine.pending("s") == 1000 and engine.records("s")[0]["i"] == "b1"
    assert seen == [("queue-full", "queue-full", 1)]


@pytest.mark.parametrize("max_queue", [0, -1, 1.0, True, "5"])
def test_engine_refuses_a_cap_that_is_not_a_positive_integer(max_queue):
    """max_queue must be an int of at least 1: anything else is a ValueError at construction."""
    with pytest.raises(ValueError, match="max_queue must be a positive integer"):
        DeliveryEngine(max_queue=max_queue)


def test_a_cap_of_one_keeps_the_newest_record():
    """max_queue=1 is allowed: each new record replaces the one waiting."""
    engine, seen = bare_engine(max_queue=1)
    engine.enqueue(rec(1), NOW)
    engine.enqueue(rec(2), NOW)
    assert ids(engine.records("s")) == ["b2"] and engine.dropped == 1
    assert ids(engine.store.load("s")) == ["b2"]


def test_engine_uses_the_retry_policy_it_is_given_and_refuses_anything_else():
    """A RetryPolicy passed in sets the waits; something that is not one is a TypeError."""
    from kaltura_web.core.retry import RetryPolicy

    engine, _ = bare_engine(retry=RetryPolicy(backoff=(5.0,)))
    engine.enqueue(rec(1), NOW)
    _fail_head(engine, NOW)
    assert engine.next_wakeup() == NOW + 5.0
    with pytest.raises(TypeError, match="retry must be a RetryPolicy, got tuple"):
        DeliveryEngine(retry=(1.0, 2.0))


def test_a_queue_exactly_at_its_cap_drops_nothing():
    """Filling the queue to max_queue loses nothing and reports nothing."""
    engine, seen = bare_engine(max_queue=3)
    for n in range(3):
        engine.enqueue(rec(n), NOW)
    assert engine.dropped == 0 and seen == [] and engine.pending("s") == 3


def test_overflow_drops_the_oldest_from_memory_and_store_alike():
    """Past the cap the oldest records leave both the queue and the store, counted as lost."""
    engine, seen = bare_engine(max_queue=2)
    for n in range(4):
        engine.enqueue(rec(n), NOW)
    assert ids(engine.records("s")) == ["b2", "b3"] == ids(engine.store.load("s"))
    assert seen == [("queue-full", "queue-full", 1)] * 2 and engine.dropped == 2


def test_overflow_with_a_record_in_flight_keeps_it_stored():
    """The record in flight stays in memory and in the store; the oldest waiting ones go from both."""
    engine, seen = bare_engine(max_queue=2)
    engine.enqueue(rec(0), NOW)
    (batch,) = engine.ready_batches(NOW)
    for n in (1, 2, 3):
        engine.enqueue(rec(n), NOW)
    assert ids(engine.records("s")) == ["b0", "b3"] == ids(engine.store.load("s"))
    assert engine.dropped == 2 and not engine.store_failed
    assert engine.settle(batch[0], "accepted", "HTTP 200", NOW)
    assert ids(engine.records("s")) == ["b3"] == ids(engine.store.load("s"))


def test_a_dead_letter_is_counted_once_as_lost():
    """One bad beacon: dead_count 1, one beacon-dead-lettered diagnostic counting one loss."""
    engine, seen = bare_engine()
    engine.enqueue(rec(1), NOW)
    engine.enqueue(rec(2), NOW)
    (batch,) = engine.ready_batches(NOW)
    assert engine.settle(batch[0], "bad_beacon", "MISSING_MANDATORY_PARAMETER", NOW)
    assert engine.dead_count == 1 and seen == [("beacon-dead-lettered", "dead-lettered", 1)]
    assert ids(engine.records("s")) == ["b2"] and engine.status()["s"]["state"] == "idle"
    assert engine.store.dead_letters("s") == [{"record": rec(1), "reason": "MISSING_MANDATORY_PARAMETER"}]


def test_a_new_beacon_does_not_hurry_a_queue_waiting_to_retry():
    """During the backoff after a transient failure, a new record waits too (only a stalled queue is woken)."""
    engine, _ = bare_engine()
    engine.enqueue(rec(1), NOW)
    _fail_head(engine, NOW)
    engine.enqueue(rec(2), NOW)
    assert engine.ready_batches(NOW) == [] and engine.status()["s"]["state"] == "waiting"
    assert ids(engine.ready(NOW + 1.0)) == ["b1"]


def test_a_raising_on_enqueue_hook_is_reported_and_the_record_kept():
    """The drivers' wake-up hook raising is a hook-failed diagnostic; the record is queued all the same."""
    engine, seen = bare_engine()

    def hook(record):
        raise RuntimeError("driver gone")

    engine.on_enqueue = hook
    engine.enqueue(rec(1), NOW)
    assert seen == [("hook-failed", None, 1)] and ids(engine.records("s")) == ["b1"]


def test_acknowledge_answers_whether_it_removed_a_queued_record():
    """True for a queued record (gone from memory and store); False, with nothing changed, for one in flight or unknown."""
    engine, _ = bare_engine()
    for n in (1, 2):
        engine.enqueue(rec(n), NOW)
    engine.ready_batches(NOW)
    assert engine.acknowledge("s", "b1", NOW) is False
    assert engine.acknowledge("s", "b9", NOW) is False
    assert engine.acknowledge("s", "b2", NOW) is True
    assert ids(engine.records("s")) == ["b1"] == ids(engine.store.load("s")) and engine.accepted == 1


def test_reload_keeps_the_batch_in_flight_once_at_the_head():
    """Records another tab stored join behind the batch in flight, which is neither duplicated nor lost."""
    store = MemoryStore()
    engine, _ = bare_engine(store=store, max_queue=10)
    for n in (1, 2):
        engine.enqueue(rec(n), NOW)
    (batch,) = engine.ready_batches(NOW, {"s": 2})
    store.append("s", rec(3))  # written by another tab
    assert engine.reload(NOW) == 1
    assert ids(engine.records("s")) == ["b1", "b2", "b3"] and ids(engine.in_flight("s")) == ["b1", "b2"]
    store.remove("s", "b1")  # another tab's keepalive answer was accepted meanwhile
    assert engine.reload(NOW) == 0
    assert ids(engine.records("s")) == ["b1", "b2", "b3"]
    assert engine.settle_batch("s", [(batch[0], "accepted", ""), (batch[1], "accepted", "")], NOW)
    assert ids(engine.records("s")) == ["b3"]


def test_reload_drops_what_others_removed_and_keeps_memory_only_records_last():
    """A record removed from the store by another tab leaves; one the store could not keep stays, at the tail."""
    store = EvictingStore(refuse={"b2"})
    engine, seen = bare_engine(store=store)
    for n in (1, 2, 3):
        engine.enqueue(rec(n), NOW)
    assert ids(store.load("s")) == ["b1", "b3"] and seen == [("storage-full", None, 1)]
    store.remove("s", "b1")
    store.append("s", rec(4))
    assert engine.reload(NOW) == 1
    assert ids(engine.records("s")) == ["b3", "b4", "b2"]


def test_reload_queues_a_record_stored_twice_once():
    """Two tabs that both wrote the same beacon to the shared store: it is queued (and sent) once."""
    store = MemoryStore()
    engine, _ = bare_engine(store=store)
    store.append("s", rec(1))
    store.append("s", rec(1))
    store.append("s", rec(2))
    assert engine.reload(NOW) == 2
    assert ids(engine.records("s")) == ["b1", "b2"]


def test_reload_restarts_a_queue_waiting_to_retry():
    """Re-reading the store ends the backoff: the head goes out again at once."""
    engine, _ = bare_engine()
    engine.enqueue(rec(1), NOW)
    _fail_head(engine, NOW)
    assert engine.ready_batches(NOW) == []
    engine.reload(NOW)
    assert ids(engine.ready(NOW)) == ["b1"]


def test_reload_after_the_store_failed_adds_nothing_and_keeps_the_queue():
    """A store that fails on reload is dropped (store-failed); reload returns 0 and the queue stays as it was."""
    engine, seen = bare_engine(store=LoadFailsLater())
    engine.enqueue(rec(1), NOW)
    assert engine.reload(NOW) == 0
    assert engine.store_failed and [s[0] for s in seen] == ["store-failed"]
    assert engine.reload(NOW) == 0 and ids(engine.records("s")) == ["b1"]


def test_adopt_queues_a_record_from_another_tab_behind_the_others():
    """adopt appends a new record (no store write) and says True; the same id again, or an unknown kind, is False."""
    engine, _ = bare_engine()
    engine.enqueue(rec(1), NOW)
    assert engine.adopt(rec(2), NOW) is True
    assert engine.adopt(rec(2), NOW) is False
    assert engine.adopt(rec(1), NOW) is False
    assert engine.adopt(rec(3, kind="x"), NOW) is False
    assert ids(engine.records("s")) == ["b1", "b2"] and ids(engine.store.load("s")) == ["b1"]


def _stall(engine, now):
    """Fail the head of the stats queue until the round of retries is used up."""
    for _ in range(4):
        now += _fail_head(engine, now)
    return now


def test_adopt_wakes_a_stalled_queue_but_not_a_waiting_one():
    """An adopted record is a new beacon: it restarts a stalled queue, and leaves a backoff alone."""
    engine, _ = bare_engine()
    engine.enqueue(rec(1), NOW)
    _fail_head(engine, NOW)
    engine.adopt(rec(2), NOW)
    assert engine.ready_batches(NOW) == []
    later = _stall(engine, NOW + 1.0)
    assert engine.status()["s"]["state"] == "stalled" and engine.ready_batches(later - 1.0) == []
    engine.adopt(rec(3), later - 1.0)
    assert ids(engine.ready(later - 1.0)) == ["b1"]


def test_forget_drops_a_queued_record_but_never_one_in_flight():
    """forget removes a record from memory only (True); an in-flight, unknown or foreign-queue id gives False."""
    engine, _ = bare_engine()
    for n in (1, 2):
        engine.enqueue(rec(n), NOW)
    engine.ready_batches(NOW)
    assert engine.forget("s", "b1") is False
    assert engine.forget("x", "b2") is False
    assert engine.forget("s", "b9") is False
    assert engine.forget("s", "b2") is True
    assert ids(engine.records("s")) == ["b1"] and ids(engine.store.load("s")) == ["b1", "b2"]


def test_ready_batches_serve_each_queue_on_its_own():
    """An empty or paused stats queue does not hold back trackEvent, and the reverse."""
    engine, _ = bare_engine()
    engine.enqueue(rec(1, kind="t"), NOW)
    assert [ids(b) for b in engine.ready_batches(NOW)] == [["b1"]]
    engine.enqueue(rec(2), NOW)
    (batch,) = engine.ready_batches(NOW)
    engine.settle(batch[0], "config", "HTTP 404", NOW)
    engine.settle(engine.in_flight("t")[0], "accepted", "", NOW)
    engine.enqueue(rec(3, kind="t"), NOW)
    assert engine.status()["s"]["state"] == "paused_config"
    assert [ids(b) for b in engine.ready_batches(NOW)] == [["b3"]]


def test_batch_limits_apply_per_queue_and_never_go_below_one():
    """limits size the stats batch only; trackEvent and an unlimited call send one record; a limit of 0 still sends one."""
    engine, _ = bare_engine()
    for n in range(4):
        engine.enqueue(rec(n), NOW)
        engine.enqueue(rec(10 + n, kind="t"), NOW)
    batches = engine.ready_batches(NOW, {"s": 3})
    assert [ids(b) for b in batches] == [["b0", "b1", "b2"], ["b10"]]
    for batch in batches:
        engine.settle_batch(batch[0]["k"], [(r, "accepted", "") for r in batch], NOW)
    assert [ids(b) for b in engine.ready_batches(NOW)] == [["b3"], ["b11"]]
    engine.settle(engine.in_flight("s")[0], "accepted", "", NOW)
    engine.enqueue(rec(4), NOW)
    engine.enqueue(rec(5), NOW)
    assert [ids(b) for b in engine.ready_batches(NOW, {"s": 0})] == [["b4"]]


def test_an_answer_for_a_record_not_in_flight_is_ignored():
    """Settling a record that is not the head in flight (or nothing) returns False, reports stray-answer, changes nothing."""
    engine, seen = bare_engine()
    for n in (1, 2):
        engine.enqueue(rec(n), NOW)
    assert engine.settle(rec(1), "accepted", "", NOW) is False  # nothing in flight
    engine.ready_batches(NOW)
    assert engine.settle(rec(2), "accepted", "", NOW) is False  # not the head in flight
    assert engine.settle_batch("s", [], NOW) is False
    assert [s[0] for s in seen] == ["stray-answer"] * 3
    assert ids(engine.records("s")) == ["b1", "b2"] and ids(engine.in_flight("s")) == ["b1"]


def test_without_a_retry_after_a_restart_sends_at_once_even_at_time_zero():
    """No server hold is set by default: on a clock starting at 0, going online restarts a backoff immediately."""
    engine, _ = bare_engine()
    engine.enqueue(rec(1), 0.0)
    (batch,) = engine.ready_batches(0.0)
    engine.settle(batch[0], "transient", "network error", 0.0)
    engine.set_online(True, 0.5)
    assert ids(engine.ready(0.5)) == ["b1"]


def test_a_waiting_stats_queue_does_not_hold_back_track_events():
    """While stats.collect waits out its backoff, a trackEvent record goes out."""
    engine, _ = bare_engine()
    engine.enqueue(rec(1), NOW)
    _fail_head(engine, NOW)
    engine.enqueue(rec(2, kind="t"), NOW)
    assert [ids(b) for b in engine.ready_batches(NOW)] == [["b2"]]


def test_the_worst_failed_slot_sets_the_state_whatever_its_place():
    """A rejected KS in slot 1 and a transient failure in slot 2: the queue pauses for a KS (the transient does not win)."""
    engine, seen = bare_engine()
    for n in (1, 2):
        engine.enqueue(rec(n), NOW)
    (batch,) = engine.ready_batches(NOW, {"s": 2})
    engine.settle_batch("s", [(batch[0], "auth", "INVALID_KS"), (batch[1], "transient", "HTTP 500")], NOW)
    assert engine.status()["s"]["state"] == "paused_auth" and engine.status()["t"]["state"] == "paused_auth"
    assert [s[0] for s in seen] == ["ks-rejected"]


def test_a_head_that_moves_on_starts_a_new_round_of_retries():
    """After the head is finally accepted, the next record's failures wait 1, 2, 4 then 8 s again."""
    engine, _ = bare_engine()
    for n in (1, 2):
        engine.enqueue(rec(n), NOW)
    now = NOW
    first = [_fail_head(engine, now)]
    for _ in range(4):
        now += first[-1]
        first.append(_fail_head(engine, now))
    assert first == [1.0, 2.0, 4.0, 8.0, 16.0]
    now += first[-1]
    (batch,) = engine.ready_batches(now)
    engine.settle(batch[0], "accepted", "HTTP 200", now)
    assert engine.status()["s"] == {"state": "idle", "pending": 1, "attempts": 0} and engine.next_wakeup() is None
    second = [_fail_head(engine, now)]
    for _ in range(3):
        now += second[-1]
        second.append(_fail_head(engine, now))
    assert second == [1.0, 2.0, 4.0, 8.0]


def test_a_dead_lettered_head_also_starts_a_new_round():
    """A head rejected for good counts as moving on: the next record's first failure waits 1 s."""
    engine, _ = bare_engine()
    for n in (1, 2):
        engine.enqueue(rec(n), NOW)
    assert _fail_head(engine, NOW) == 1.0
    assert _fail_head(engine, NOW + 1.0) == 2.0
    (batch,) = engine.ready_batches(NOW + 3.0)
    engine.settle(batch[0], "bad_beacon", "MISSING_MANDATORY_PARAMETER", NOW + 3.0)
    assert _fail_head(engine, NOW + 3.0) == 1.0


def test_reject_only_dead_letters_a_record_in_flight():
    """reject() of a record that is not in flight returns False and keeps it queued."""
    engine, _ = bare_engine()
    engine.enqueue(rec(1), NOW)
    assert engine.reject(engine.records("s")[0], "cannot be encoded", NOW) is False
    assert ids(engine.records("s")) == ["b1"] and engine.dead_count == 0
    (batch,) = engine.ready_batches(NOW)
    assert engine.reject(batch[0], "cannot be encoded", NOW) is True
    assert engine.records("s") == [] and engine.dead_count == 1


def test_next_wakeup_is_the_earliest_due_queue():
    """With both queues waiting, the wake-up is the earlier of their due times."""
    engine, _ = bare_engine()
    engine.enqueue(rec(1, kind="t"), NOW)
    (t_batch,) = engine.ready_batches(NOW)
    engine.settle(t_batch[0], "transient", "", NOW)  # trackEvent due at NOW + 1
    engine.enqueue(rec(2), NOW + 0.5)
    (s_batch,) = engine.ready_batches(NOW + 0.5)
    engine.settle(s_batch[0], "transient", "", NOW + 0.5)  # stats due at NOW + 1.5
    assert engine.next_wakeup() == NOW + 1.0


@pytest.mark.parametrize("ks", [None, ""])
def test_engine_set_ks_takes_none_or_empty_as_no_ks(ks):
    """The engine accepts None or '' to drop the KS."""
    engine, _ = bare_engine()
    engine.set_ks("a-ks", NOW)
    engine.set_ks(ks, NOW)
    assert engine.ks == ks


@pytest.mark.parametrize("ks, error", [(5, TypeError), (b"ks", TypeError), ("ks-\udcff", ValueError)])
def test_engine_set_ks_refuses_what_cannot_be_a_ks(ks, error):
    """A KS that is not text, or cannot be encoded, raises at the call and the old KS stays."""
    engine, _ = bare_engine()
    engine.set_ks("a-ks", NOW)
    with pytest.raises(error, match="ks"):
        engine.set_ks(ks, NOW)
    assert engine.ks == "a-ks"


def test_a_triggered_restart_starts_the_retries_over():
    """A new beacon waking a stalled queue resets its attempts: the next failure waits 1 s again."""
    engine, _ = bare_engine()
    engine.enqueue(rec(1), NOW)
    later = _stall(engine, NOW)
    engine.enqueue(rec(2), later - 1.0)
    assert engine.status()["s"] == {"state": "idle", "pending": 2, "attempts": 0}
    assert _fail_head(engine, later - 1.0) == 1.0


def test_a_restart_waits_until_a_retry_after_shorter_than_the_backoff_ends():
    """Stalled with Retry-After 5 s (the backoff says 8 s): a trigger restarts at the server's time, not before."""
    engine, _ = bare_engine()
    engine.enqueue(rec(1), NOW)
    now = NOW
    for _ in range(3):
        now += _fail_head(engine, now)
    assert _fail_head(engine, now, retry_after=5.0) == 8.0
    engine.enqueue(rec(2), now + 1.0)
    assert engine.status()["s"]["state"] == "waiting" and engine.next_wakeup() == now + 5.0
    engine.set_online(True, now + 5.0)  # exactly when the hold ends: free to send
    assert engine.status()["s"]["state"] == "idle" and engine.next_wakeup() is None


class ReportedEvictions(MemoryStore):
    """A store whose next append reports the evictions in ``evict`` (as a budgeted store would)."""

    def __init__(self):
        super().__init__()
        self.evict = None

    def append(self, queue, record):
        super().append(queue, record)
        evicted, self.evict = self.evict, None
        return evicted


def test_evictions_spare_the_record_in_flight_and_skip_unknown_queues():
    """Evicted records leave memory too, except the one in flight (its answer will settle it); a foreign queue name is skipped."""
    store = ReportedEvictions()
    engine, seen = bare_engine(store=store)
    for n in (1, 2, 3):
        engine.enqueue(rec(n), NOW)
    engine.ready_batches(NOW)
    store.evict = [("s", "b1"), ("x", "b0"), ("s", "b2")]
    engine.enqueue(rec(4), NOW)
    assert ids(engine.records("s")) == ["b1", "b3", "b4"]
    assert seen == [("storage-full", "storage-evicted", 1)] and engine.storage_dropped == 1 == engine.dropped


def test_offline_nothing_is_ready():
    """While offline no queue offers a batch (ready and ready_batches are both empty lists)."""
    engine, _ = bare_engine()
    engine.enqueue(rec(1), NOW)
    engine.set_online(False, NOW)
    assert engine.ready_batches(NOW) == [] and engine.ready(NOW) == []
    engine.set_online(True, NOW)
    assert ids(engine.ready(NOW)) == ["b1"]
