"""Consent, erasure and anonymous mode: the core's held beacons (fake clock, memory stores, no
sleeps), every Store's erase(), and the page edge on a fake page (the consent key, the
kaltura-web:consent / kaltura-web:erase events, the other tabs' storage events, GPC/DNT, the
early-event snippet's records)."""

import asyncio
import json
import shutil
import subprocess
import urllib.parse
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kaltura_web.browser import _env
from kaltura_web.browser import config as page_config
from kaltura_web.browser.consent import CONSENT_KEY, SDK_PREFIX, SIGNAL_KEY, start_consent
from kaltura_web.browser.page import start
from kaltura_web.browser.storage import LocalStorageStore
from kaltura_web.browser.storage_layout import PREFIX
from kaltura_web.core.encoding import STATS, TRACK
from kaltura_web.core.ports import NETWORK, MemoryStore, Response, Store, TransportError
from kaltura_web.core.validation import CONSENT_STATES, DENIED, GRANTED, PENDING
from kaltura_web.cpython import SQLiteStore
from tests.fake_page import FakePage, Transport, Video, settle
from tests.fakes import MISSING, FakeClock, ScriptedTransport, calls, make_tracker, sync_sender
from tests.test_reconstruct import Raw, SnippetQueue
from tests.test_storage_budget import FakeStorage

ROOT = Path(__file__).resolve().parent.parent
ENTRY = "0_lobby001"


# -- the core ---------------------------------------------------------------------------------

class SpyStore(MemoryStore):
    """A MemoryStore that notes every write with the tracker's consent at that moment."""

    def __init__(self):
        super().__init__()
        self.writes = []
        self.consent_of = lambda: None

    def append(self, queue, record):
        self.writes.append(("append", self.consent_of()))
        return super().append(queue, record)

    def drop_oldest(self, queue, count):
        self.writes.append(("drop_oldest", self.consent_of()))
        return super().drop_oldest(queue, count)

    def dead_letter(self, queue, record, reason):
        self.writes.append(("dead_letter", self.consent_of()))
        return super().dead_letter(queue, record, reason)


class WatchedTransport(ScriptedTransport):
    """Accepts every beacon (a 500 for the next request after ``fail_next``) and notes, per
    request, the tracker's consent when it was sent and whether it was accepted."""

    def __init__(self, tracker):
        super().__init__()
        self.tracker = tracker
        self.fail_next = False
        self.sent = []  # (consent, beacon ids, accepted)

    def send(self, request):
        failing, self.fail_next = self.fail_next, False
        self.handler = (lambda r: (500, "")) if failing else (lambda r: (200, "null"))
        self.sent.append((self.tracker.consent, list(request.beacon_ids), not failing))
        return super().send(request)

    def accepted(self):
        return [i for _consent, ids, ok in self.sent if ok for i in ids]


def beacon(tracker, queue, t=None):
    """One stats.collect (PLAY) or trackEvent (ButtonClicked) record."""
    if queue == STATS:
        return tracker.report(3, ENTRY, t=t)
    return tracker.button_click("cta", "register-now", t=t)


def pending_tracker(**options):
    clock = FakeClock()
    store = SpyStore()
    tracker = make_tracker(clock, store=store, consent=PENDING, **options)
    store.consent_of = lambda: tracker.consent
    transport = WatchedTransport(tracker)
    return tracker, clock, store, transport, sync_sender(tracker, clock, transport)


def test_pending_holds_in_memory_then_granted_sends_in_order_with_original_times():
    """Pending: beacons are held, nothing is written or sent (not even by keepalive); granting
    stores and sends them in order, once, with their own eventTimestamp."""
    tracker, clock, store, transport, sender = pending_tracker()
    made = []
    for n in range(6):
        clock.now += 5
        made.append(beacon(tracker, STATS if n % 3 else TRACK))
    assert sender.pump() == 0 and transport.requests == []
    assert tracker.due_requests() == [] and tracker.keepalive_requests() == [] and tracker.next_wakeup() is None
    assert store.writes == [] and store.queues == {}
    assert [r["i"] for r in tracker.held()] == [r["i"] for r in made] and tracker.pending() == 6
    assert tracker.set_consent(GRANTED) == 6
    assert tracker.held() == [] and len(store.queues[STATS]) == 4 and len(store.queues[TRACK]) == 2
    assert sender.flush(timeout=5)
    sent = [c for request in transport.requests for c in calls(request)]
    times = {c.get("event[beaconId]", c.get("beaconId")): c.get("event[eventTimestamp]") for c in sent}
    assert transport.accepted() == [r["i"] for r in made if r["k"] == STATS] + [r["i"] for r in made if r["k"] == TRACK]
    for record in made:
        if record["k"] == STATS:
            assert float(times[record["i"]]) == record["t"]  # the time it happened, not when granted
    assert all(consent == GRANTED for consent, _ids, _ok in transport.sent)


def test_pending_is_bounded_by_the_queue_cap_and_counts_what_it_drops():
    """Held beacons are capped per queue like the queue: the oldest is dropped and counted in lost."""
    tracker, clock, store, transport, sender = pending_tracker(max_queue=3)
    stats_ids = [beacon(tracker, STATS)["i"] for _ in range(5)]
    click = beacon(tracker, TRACK)["i"]
    assert [r["i"] for r in tracker.held()] == stats_ids[2:] + [click]
    assert tracker.lost == {"queue-full": 2} and tracker.engine.dropped == 2
    assert [d["code"] for d in tracker.diagnostics] == ["queue-full", "queue-full"]
    tracker.set_consent(GRANTED)
    sender.flush(timeout=5)
    assert transport.accepted() == stats_ids[2:] + [click]


def test_denied_discards_what_is_held_and_queued_erases_the_store_and_keeps_nothing_after():
    """Denied: held and queued beacons are discarded, the store (with its dead letters) is erased, a
    diagnostic gives the count; afterwards beacons are dropped, nothing is written or sent."""
    store = SpyStore()
    store.append(STATS, {"k": STATS, "i": "from-an-earlier-visit"})
    store.dead_letter(STATS, {"k": STATS, "i": "dead"}, "bad")
    store.writes = []
    clock = FakeClock()
    tracker = make_tracker(clock, store=store, consent=PENDING)
    store.consent_of = lambda: tracker.consent
    for queue in (STATS, TRACK, STATS):
        beacon(tracker, queue)
    assert tracker.pending() == 4  # the stored one and three held
    assert tracker.set_consent(DENIED) == 4
    assert store.queues == {} and store.dead == {} and tracker.pending() == 0
    entry = tracker.diagnostics[-1]
    assert entry["code"] == "consent-denied" and entry["details"] == {"discarded": 4}
    assert tracker.lost == {}  # not lost: the visitor said no
    transport = WatchedTransport(tracker)
    sender = sync_sender(tracker, clock, transport)
    for queue in (STATS, TRACK):
        beacon(tracker, queue)
    tracker.set_online(True)
    assert sender.pump() == 0 and tracker.keepalive_requests() == [] and transport.requests == []
    assert store.writes == [] and tracker.pending() == 0 and tracker.engine.discarded == 6
    assert tracker.set_consent(DENIED) == 0 and tracker.diagnostics[-1] is entry  # the same state: nothing


def test_a_request_in_flight_when_consent_is_denied_is_abandoned_quietly():
    """The answer to a request sent before the denial settles nothing: no stray-answer, no dead
    letter even for a refused beacon, no retry."""
    tracker = make_tracker()
    first, second = beacon(tracker, STATS), beacon(tracker, TRACK)
    requests = tracker.due_requests()
    assert len(requests) == 2
    tracker.set_consent(DENIED)
    store = tracker.engine.store
    for request in requests:  # a beacon refused for good, and no answer at all
        answer = Response(200, None, MISSING) if request.queue == STATS else TransportError(NETWORK, "reset")
        step = tracker.sender_core.receive(request, answer)
        assert "ignored" in step.note and not step.ask_ks
    assert store.dead == {} and tracker.engine.abandoned == set()
    assert [d["code"] for d in tracker.diagnostics] == ["consent-denied"]
    assert tracker.due_requests() == [] and tracker.next_wakeup() is None
    assert first["i"] != second["i"]


def test_granted_to_pending_keeps_the_queue_unsent_and_resumes_it_first():
    """Consent withdrawn to pending: the stored queue stays but waits, new beacons are held; granting
    again sends the queued ones first, then the held ones."""
    tracker, clock, store, transport, sender = pending_tracker()
    tracker.set_consent(GRANTED)
    transport.fail_next = True
    queued = [beacon(tracker, STATS)["i"] for _ in range(2)]
    sender.pump()  # refused once: both wait to retry
    tracker.set_consent(PENDING)
    held = [beacon(tracker, STATS)["i"] for _ in range(2)]
    clock.now += 3600
    assert sender.pump() == 0 and len(store.queues[STATS]) == 2
    tracker.set_consent(GRANTED)
    assert sender.flush(timeout=5)
    assert transport.accepted() == queued + held


def on_disk(folder):
    """The bytes of every file of the SQLite queue (the database, its WAL and shared memory)."""
    return b"".join(p.read_bytes() for p in sorted(folder.glob("queue.sqlite*")))


def test_starting_denied_erases_a_stored_backlog_on_disk(tmp_path):
    """Tracker(consent="denied") over a SQLite queue of an earlier run erases it (the text leaves the files)."""
    path = tmp_path / "queue.sqlite"
    earlier = make_tracker(store=SQLiteStore(path))
    marker = "earlier-visitor-marker"
    earlier.report(3, ENTRY, session_id=marker)
    assert marker.encode() in on_disk(tmp_path)
    earlier.engine.store.close()
    assert marker.encode() in on_disk(tmp_path)
    store = SQLiteStore(path)
    tracker = make_tracker(store=store, consent=DENIED)
    assert tracker.pending() == 0 and store.load(STATS) == []
    assert tracker.diagnostics[-1]["details"] == {"discarded": 1}
    assert marker.encode() not in on_disk(tmp_path)
    store.close()
    assert marker.encode() not in on_disk(tmp_path)


def test_erase_wipes_storage_and_memory_and_keeps_the_consent():
    """erase(): the store and every beacon in memory go, a diagnostic says how many; the tracker
    stays granted and what comes next is sent as usual."""
    tracker, clock, store, transport, sender = pending_tracker()
    beacon(tracker, TRACK)
    tracker.set_consent(GRANTED)
    beacon(tracker, STATS)
    assert tracker.erase() == 2
    assert store.queues == {} and tracker.pending() == 0 and tracker.consent == GRANTED
    assert tracker.diagnostics[-1]["code"] == "erased"
    after = beacon(tracker, STATS)
    sender.flush(timeout=5)
    assert transport.accepted() == [after["i"]]


def test_create_tracker_takes_consent_and_a_sqlite_queue_stays_empty_while_pending(tmp_path):
    """cpython.create_tracker(consent="pending"): nothing reaches the queue file until the grant."""
    from kaltura_web.cpython import create_tracker

    tracker = create_tracker(100, tmp_path / "queue.sqlite", consent=PENDING, anonymous=True)
    store = tracker.engine.store
    record = tracker.report(3, ENTRY)
    assert store.load(STATS) == [] and tracker.pending() == 1 and record["i"].encode() not in on_disk(tmp_path)
    tracker.set_consent(GRANTED)
    assert [r["i"] for r in store.load(STATS)] == [record["i"]] and "ui" not in record
    store.close()


class OldStore(Store):
    """A Store written before erase() existed (over a MemoryStore)."""

    def __init__(self):
        self.memory = MemoryStore()

    def __getattribute__(self, name):
        if name in ("load", "append", "remove", "drop_oldest", "dead_letter", "dead_letters"):
            return getattr(object.__getattribute__(self, "memory"), name)
        return object.__getattribute__(self, name)


def test_a_store_without_erase_is_emptied_queue_by_queue():
    """A Store subclass without erase(): denial empties its queues through load/drop_oldest."""
    store = OldStore()
    tracker = make_tracker(store=store)
    for queue in (STATS, TRACK):
        beacon(tracker, queue)
    tracker.set_consent(DENIED)
    assert store.load(STATS) == [] and store.load(TRACK) == [] and not tracker.engine.store_failed


def test_consent_and_anonymous_arguments_are_checked_before_anything_changes():
    """A wrong consent state or anonymous flag raises at the call and changes nothing."""
    with pytest.raises(ValueError, match="consent must be one of granted, pending, denied"):
        make_tracker(consent="maybe")
    with pytest.raises(TypeError, match="consent must be a string"):
        make_tracker(consent=True)
    with pytest.raises(TypeError, match="anonymous must be True or False"):
        make_tracker(anonymous=1)
    with pytest.raises(ValueError, match="not both"):
        make_tracker(anonymous=True, user_id="ann")
    tracker = make_tracker(consent=PENDING)
    beacon(tracker, STATS)
    for wrong in ("GRANTED", None, 1):
        with pytest.raises((TypeError, ValueError)):
            tracker.set_consent(wrong)
    assert tracker.consent == PENDING and len(tracker.held()) == 1


def test_anonymous_sends_no_user_and_no_referrer_query():
    """anonymous=True: no userId on either protocol, the referrer without its query and fragment."""
    referrer = "https://portal.example/lobby/main?utm_source=mail&viewer=ann#chapter-2"
    for protocol in ("guide", "kava"):
        clock = FakeClock()
        tracker = make_tracker(clock, anonymous=True, referrer=referrer, protocol=protocol)
        player = tracker.player(ENTRY)
        player.loaded(10.0)
        player.play(0.0)
        tracker.button_click("cta", "register-now")
        transport = ScriptedTransport()
        assert sync_sender(tracker, clock, transport).flush(timeout=5)
        texts = [urllib.parse.unquote(r.url + "&" + r.body) for r in transport.requests]
        assert len(texts) >= 2
        for text in texts:
            assert "userId" not in text and "viewer=ann" not in text and "chapter-2" not in text
        assert any("https://portal.example/lobby/main" in text for text in texts)
    named = make_tracker(user_id="ann", referrer=referrer)
    named.report(3, ENTRY)
    assert "viewer%3Dann" in named.due_requests()[0].body


OPS = st.lists(st.one_of(st.tuples(st.just("beacon"), st.sampled_from([STATS, TRACK])),
                         st.tuples(st.just("consent"), st.sampled_from(CONSENT_STATES)),
                         st.tuples(st.just("send"), st.booleans())), max_size=40)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(start_in=st.sampled_from(CONSENT_STATES), ops=OPS)
def test_any_interleaving_sends_only_with_consent_and_every_kept_beacon_once_in_order(start_in, ops):
    """Whatever the order of beacons, consent changes and sends (some refused once): nothing is sent
    while consent is not granted, nothing is written while it is pending or denied, and once
    granted exactly the beacons not discarded by a denial arrive, each once, in order per queue."""
    clock = FakeClock()
    store = SpyStore()
    tracker = make_tracker(clock, store=store, consent=start_in)
    store.consent_of = lambda: tracker.consent
    transport = WatchedTransport(tracker)
    sender = sync_sender(tracker, clock, transport)
    kept, queue_of = [], {}
    for op, arg in ops:
        clock.now += 1.0
        if op == "beacon":
            record = beacon(tracker, arg)
            queue_of[record["i"]] = arg
            if tracker.consent != DENIED:
                kept.append(record["i"])
        elif op == "consent":
            if arg == DENIED and tracker.consent != DENIED:
                arrived = set(transport.accepted())
                kept = [i for i in kept if i in arrived]
            tracker.set_consent(arg)
        else:
            transport.fail_next = arg
            sender.pump()
    tracker.set_consent(GRANTED)
    assert sender.flush(timeout=600)
    assert all(consent == GRANTED for consent, _ids, _ok in transport.sent)
    assert all(consent == GRANTED for _write, consent in store.writes)
    arrived = transport.accepted()
    assert len(arrived) == len(set(arrived)), "a beacon arrived twice"
    for queue in (STATS, TRACK):
        assert [i for i in arrived if queue_of[i] == queue] == [i for i in kept if queue_of[i] == queue]


# -- every Store's erase() --------------------------------------------------------------------

def test_local_storage_erase_removes_every_key_of_the_sdk_on_the_origin_and_nothing_else():
    """LocalStorageStore.erase(): every kaltura_web key (other partners and users, the consent key, a
    lease) goes; the site's own keys stay; the store goes on working after."""
    storage = FakeStorage()
    mine = LocalStorageStore(100, "ann", storage=storage)
    other = LocalStorageStore(200, "bob", storage=storage)
    tracker = make_tracker(store=mine)
    beacon(tracker, STATS)
    make_tracker(store=other).report(3, ENTRY)
    storage.setItem(CONSENT_KEY, GRANTED)
    storage.setItem(mine.namespace + ":lease", "tab:1")
    storage.setItem("site-theme", "dark")
    storage.setItem("kaltura_webX", "not ours")
    assert sum(1 for k in storage.data if k.startswith(SDK_PREFIX)) >= 8
    tracker.erase()
    assert sorted(storage.data) == ["kaltura_webX", "site-theme"]
    beacon(tracker, STATS)
    assert len(mine.load(STATS)) == 1


def test_memory_and_sqlite_stores_erase_queues_and_dead_letters(tmp_path):
    """MemoryStore.erase() and SQLiteStore.erase() forget every queue (every namespace) and dead letter."""
    for store in (MemoryStore(), SQLiteStore(tmp_path / "q.sqlite"), SQLiteStore(tmp_path / "q.sqlite", "ns")):
        store.append(STATS, {"k": STATS, "i": "a" + str(id(store))})
        store.dead_letter(TRACK, {"k": TRACK, "i": "d"}, "bad")
        store.erase()
        assert store.load(STATS) == [] and store.dead_letters(TRACK) == []
    assert SQLiteStore(tmp_path / "q.sqlite").load(STATS) == []


# -- the page ---------------------------------------------------------------------------------

CONFIG = {"partnerId": 100, "serviceUrl": "https://collector.test/api_v3", "analyticsUrl": "https://collector.test",
          "userId": "viewer@example.com", "ks": "ks-page", "pageType": "lobby", "tabs": False}


def sdk_keys(storage):
    return sorted(k for k in storage.data if k.startswith(PREFIX + ":"))


def play_through(video, positions=(0.5, 1.1, 2.1, 3.1, 4.0)):
    video.state(0.0, paused=False)
    video.fire("play")
    video.fire("playing")
    for position in positions:
        video.currentTime = position
        video.fire("timeupdate")
    video.state(4.0, paused=True, ended=True)
    video.fire("ended")


def page_run(monkeypatch, config, body, storage=None, snippet=None, navigator=None):
    """Start the SDK on a fake page with ``config`` and run ``body(page, runtime, video, transport)``."""
    video = Video(ENTRY)
    page = FakePage(dict(CONFIG, **config), [video], storage=storage, snippet=snippet).install(monkeypatch)
    for name, value in (navigator or {}).items():
        setattr(page.js.navigator, name, value)
    transport = Transport()

    async def main():
        runtime = await start(transport=transport)
        page.run_timers(0)  # the stored queue is read after ready
        await settle()
        result = await body(page, runtime, video, transport)
        runtime.stop()
        return result

    return asyncio.run(main())


def test_a_pending_page_sends_and_stores_nothing_until_the_consent_event_then_all_in_order(monkeypatch):
    """"consent": "pending": a whole playback, clicks and pagehide leave no request and no SDK key in
    localStorage; the kaltura-web:consent event with "granted" sends all of it in order, once, and
    remembers the grant."""
    storage = FakeStorage()

    async def body(page, runtime, video, transport):
        play_through(video)
        runtime.button("cta:register-now")
        page.window.fire("pagehide")
        await settle()
        assert transport.requests == [] and sdk_keys(storage) == [] and storage.writes == 0
        held = runtime.tracker.held()
        assert len(held) >= 8 and runtime.consent == PENDING
        page.document.fire("kaltura-web:consent", detail={"state": "granted"})
        await settle()
        assert runtime.consent == GRANTED and storage.data[CONSENT_KEY] == GRANTED
        sent = transport.beacon_ids()
        assert sorted(sent) == sorted(r["i"] for r in held) and len(sent) == len(set(sent))
        for queue in (STATS, TRACK):
            mine = [r["i"] for r in held if r["k"] == queue]
            assert [i for i in sent if i in mine] == mine
        return held

    page_run(monkeypatch, {"consent": "pending"}, body, storage=storage)
    keys = sdk_keys(storage)
    assert CONSENT_KEY in keys and not [k for k in keys if ":q:" in k]  # all accepted; the grant remembered


def test_granted_is_remembered_across_a_reload_pending_is_not(monkeypatch):
    """A pending page that was granted starts granted on the next load; one that stayed pending
    starts pending again (nothing was written)."""
    storage = FakeStorage()

    async def stay_pending(page, runtime, video, transport):
        return runtime.consent

    assert page_run(monkeypatch, {"consent": "pending"}, stay_pending, storage=storage) == PENDING
    monkeypatch.undo()
    assert page_run(monkeypatch, {"consent": "pending"}, stay_pending, storage=storage) == PENDING
    monkeypatch.undo()

    async def grant(page, runtime, video, transport):
        runtime.set_consent(GRANTED)
        await settle()
        return runtime.consent

    page_run(monkeypatch, {"consent": "pending"}, grant, storage=storage)
    monkeypatch.undo()
    assert page_run(monkeypatch, {"consent": "pending"}, stay_pending, storage=storage) == GRANTED
    monkeypatch.undo()
    # a page whose queue is in memory writes no consent key
    memory = FakeStorage()
    page_run(monkeypatch, {"consent": "pending", "storage": "memory"}, grant, storage=memory)
    assert memory.data == {}


def test_denying_erases_the_origin_and_nothing_is_ever_written_or_sent_after(monkeypatch):
    """The consent event with "denied" (or runtime.set_consent): an earlier visit's stored queue and
    every SDK key are erased (the site's keys stay), a consent-denied diagnostic gives the count, the
    other tabs are told without anything left stored, and playback afterwards sends and writes nothing."""
    storage = FakeStorage()
    earlier = LocalStorageStore(100, "viewer@example.com", storage=storage)
    earlier.append(STATS, {"k": STATS, "i": "earlier", "e": 3, "t": 1.0, "p": 100})
    storage.setItem("site-theme", "dark")

    async def body(page, runtime, video, transport):
        signals = []
        real_set = storage.setItem

        def spy(key, value):
            signals.append((key, value))
            real_set(key, value)

        storage.setItem = spy
        page.document.fire("kaltura-web:consent", detail={"state": "denied"})
        await settle()
        assert sdk_keys(storage) == [] and storage.data == {"site-theme": "dark"}
        assert [k for k, _v in signals] == [SIGNAL_KEY] and signals[0][1].startswith("denied:")
        diagnostics = page.window.events("kaltura-web:diagnostic")
        assert diagnostics[-1]["code"] == "consent-denied" and diagnostics[-1]["details"]["discarded"] >= 1
        signals.clear()
        play_through(video)
        runtime.button("cta:register-now")
        page.window.fire("pagehide")
        await settle()
        assert signals == [] and sdk_keys(storage) == [] and runtime.tracker.pending() == 0
        return transport.requests

    assert page_run(monkeypatch, {"consent": "pending"}, body, storage=storage) == []


@pytest.mark.parametrize("navigator,respect,expected", [
    ({"globalPrivacyControl": True}, True, DENIED), ({"doNotTrack": "1"}, True, DENIED),
    ({"doNotTrack": "0"}, True, GRANTED), ({"globalPrivacyControl": True}, False, GRANTED),
    ({}, True, GRANTED)])
def test_respect_gpc_starts_denied_under_gpc_or_dnt(monkeypatch, navigator, respect, expected):
    """With "respectGPC": true, Global Privacy Control or Do Not Track "1" starts the page denied; without
    the key, or without the signal, it starts as configured."""
    storage = FakeStorage()
    storage.setItem(CONSENT_KEY, GRANTED)

    async def body(page, runtime, video, transport):
        play_through(video)
        await settle()
        return runtime.consent, transport.requests

    consent, requests = page_run(monkeypatch, {"respectGPC": respect, "consent": "pending"}, body,
                                 storage=storage, navigator=navigator)
    assert consent == expected
    assert (requests == [] and sdk_keys(storage) == []) if expected == DENIED else requests


def test_the_snippets_consent_records_replay_in_order_with_the_media(monkeypatch):
    """Consent events the snippet recorded before the SDK started are applied at their place: a grant
    in the middle of a playback sends all of it; a denial after a grant keeps only what the grant let
    through and nothing after; a page that instruments nothing still applies them."""
    def queue(*states):
        q = SnippetQueue()
        for n, state in enumerate(states):
            q.append(Raw(type="kaltura-web:consent", t=SnippetQueue.t0 + n, el=None, state=state))
        return q

    async def body(page, runtime, video, transport):
        await settle()
        codes = [d["code"] for d in runtime.tracker.diagnostics]
        return runtime.consent, runtime.tracker.engine.discarded, transport.beacon_ids(), codes

    consent, discarded, sent, _codes = page_run(monkeypatch, {"consent": "pending"}, body,
                                                snippet=queue("granted"))
    assert consent == GRANTED and discarded == 0 and len(sent) >= 2  # WIDGET_LOADED, PageLoad...
    monkeypatch.undo()
    # granted then denied before the SDK could send: what the grant queued is discarded
    consent, discarded, sent, codes = page_run(monkeypatch, {"consent": "pending"}, body,
                                               snippet=queue("granted", "denied"))
    assert consent == DENIED and sent == [] and discarded >= 2 and "consent-denied" in codes
    monkeypatch.undo()
    consent, discarded, sent, _codes = page_run(monkeypatch, {"consent": "pending", "instrument": False}, body,
                                                snippet=queue("denied", "granted"))
    assert consent == GRANTED and sent == [] and discarded == 1  # the PageLoad, recorded while pending
    monkeypatch.undo()
    consent, _discarded, sent, codes = page_run(monkeypatch, {"consent": "pending"}, body, snippet=queue("later"))
    assert consent == PENDING and sent == [] and "early-replay-failed" in codes


def test_other_tabs_grant_deny_and_erase_reach_this_tab(monkeypatch):
    """Storage events of another tab: the consent key written "granted" grants here; a "denied" signal
    denies here (without signalling back); an "erase" signal drops what this tab holds."""
    storage = FakeStorage()

    async def body(page, runtime, video, transport):
        play_through(video)
        held = len(runtime.tracker.held())
        page.window.fire("storage", key=CONSENT_KEY, newValue="granted")
        await settle()
        assert runtime.consent == GRANTED and len(transport.beacon_ids()) == held
        runtime.tracker.set_consent(PENDING)
        runtime.button("cta:register-now")
        page.window.fire("storage", key=SIGNAL_KEY, newValue="erase:abc.1")
        assert runtime.tracker.held() == [] and runtime.consent == PENDING
        writes = storage.writes
        page.window.fire("storage", key=SIGNAL_KEY, newValue="denied:abc.2")
        page.window.fire("storage", key=SIGNAL_KEY, newValue=None)
        page.window.fire("storage", key=None, newValue=None)
        assert runtime.consent == DENIED and storage.writes == writes  # nothing written, no signal back
        return held

    assert page_run(monkeypatch, {"consent": "pending"}, body, storage=storage) >= 6


def test_erase_removes_every_sdk_key_and_the_tabs_are_told(monkeypatch):
    """runtime.erase() and the kaltura-web:erase event remove every SDK key on the origin (another
    user's namespace too) and the beacons in memory; the signal to the other tabs leaves nothing stored."""
    storage = FakeStorage()
    other = LocalStorageStore(100, "someone-else", storage=storage)
    other.append(STATS, {"k": STATS, "i": "theirs", "e": 3, "t": 1.0, "p": 100})
    storage.setItem("site-theme", "dark")

    async def body(page, runtime, video, transport):
        transport.requests.clear()
        runtime.tracker.set_online(False)  # keep this page's own beacons queued
        play_through(video)
        assert sdk_keys(storage)
        assert runtime.erase() >= 4
        assert storage.data == {"site-theme": "dark"} and runtime.tracker.pending() == 0
        runtime.button("cta:register-now")
        assert sdk_keys(storage)  # granted: new beacons are kept as usual
        page.document.fire("kaltura-web:erase")
        assert storage.data == {"site-theme": "dark"} and runtime.consent == GRANTED
        return [d["code"] for d in page.window.events("kaltura-web:diagnostic")]

    codes = page_run(monkeypatch, {}, body, storage=storage)
    assert codes.count("erased") == 2


def test_an_invalid_consent_event_is_a_diagnostic_and_changes_nothing(monkeypatch):
    """A kaltura-web:consent event without a valid state: consent-invalid, the state unchanged."""
    async def body(page, runtime, video, transport):
        page.document.fire("kaltura-web:consent", detail={"state": "yes please"})
        page.document.fire("kaltura-web:consent", detail=None)
        return runtime.consent, [d["code"] for d in page.window.events("kaltura-web:diagnostic")]

    consent, codes = page_run(monkeypatch, {"consent": "pending"}, body)
    assert consent == PENDING and codes.count("consent-invalid") == 2


def test_a_pending_tab_writes_no_lease(monkeypatch):
    """With the tabs' storage lease (no Web Locks), a pending page writes no lease; granted, it does."""
    storage = FakeStorage()

    async def body(page, runtime, video, transport):
        for _ in range(3):
            page.run_timers(2000)
            await settle()
        assert sdk_keys(storage) == [] and runtime.tabs.mode == "lease"
        runtime.set_consent(GRANTED)
        for _ in range(3):
            page.run_timers(2000)
            await settle()
        return sdk_keys(storage)

    keys = page_run(monkeypatch, {"consent": "pending", "tabs": True}, body, storage=storage)
    assert any(k.endswith(":lease") for k in keys)


def test_anonymous_page_namespace_ks_url_and_referrer(monkeypatch):
    """"anonymous": true: no userId on the wire, the referrer (the page URL) without query and fragment,
    ksUrl asked with anonymous=1, and the queue in the namespace kaltura_web:<partner>:%anon."""
    storage = FakeStorage()
    asked = []

    async def body(page, runtime, video, transport):
        runtime.tracker.set_online(False)
        play_through(video)
        keys = sdk_keys(storage)
        runtime.tracker.set_online(True)
        runtime.sender.kick()
        await settle()
        return keys, transport.requests

    def fake_fetch(url, options):
        asked.append(url)
        raise RuntimeError("no network in this test")

    monkeypatch.setattr(_env, "fetch", fake_fetch)
    video_page = {"anonymous": True, "ks": "ks-page"}
    keys, requests = page_run(monkeypatch, video_page, body, storage=storage)
    assert keys and all(k.startswith("kaltura_web:100:%anon:") for k in keys)
    for request in requests:
        text = urllib.parse.unquote(request.body)
        assert "viewer@example.com" not in text and "userId" not in text
    provider = page_config.ks_provider({"ksUrl": "https://portal.example/ks?userId=ann", "anonymous": True})
    with pytest.raises(RuntimeError):
        asyncio.run(provider())
    assert asked == ["https://portal.example/ks?userId=ann&anonymous=1"]


def test_anonymous_referrer_is_the_page_url_without_query(monkeypatch):
    """The default referrer of an anonymous page is location.href without its query and fragment."""
    async def body(page, runtime, video, transport):
        return runtime.tracker.context["r"]

    video = Video(ENTRY)
    page = FakePage(dict(CONFIG, anonymous=True), [video])
    page.js.location.href = "https://portal.example/lobby?viewer=ann#top"
    page.install(monkeypatch)

    async def main():
        runtime = await start(transport=Transport())
        referrer = runtime.tracker.context["r"]
        runtime.stop()
        return referrer

    assert asyncio.run(main()) == "https://portal.example/lobby"


def test_start_consent_reads_config_signal_and_the_remembered_grant(monkeypatch):
    """start_consent: a wrong configured state raises (the page's mistake); denied wins over a remembered grant."""
    page = FakePage(CONFIG).install(monkeypatch)
    page.storage.setItem(CONSENT_KEY, GRANTED)
    assert start_consent({"consent": "pending"}) == GRANTED
    assert start_consent({"consent": "denied"}) == DENIED
    assert start_consent({}) == GRANTED
    with pytest.raises(ValueError, match="the configuration's consent must be one of"):
        start_consent({"consent": "opt-in"})


# -- the early-event snippet ------------------------------------------------------------------

def test_the_snippets_readable_and_minified_copies_record_the_same():
    """web/kaltura-snippet.js: the readable source and the minified line record media, consent and
    erase events alike (run in Node on a fake document), consent events even past the cap."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js is required (make setup installs it)", pytrace=False)
    script = r"""
const src = require("fs").readFileSync(process.argv[1], "utf8");
const mini = src.split("\n").find(l => l.startsWith("!function(w,d)"));
const readable = src.slice(src.indexOf("(function (w, d)"), src.indexOf("})(window, document);") + 21);
function run(code) {
  const on = {}, d = {addEventListener: (n, f) => (on[n] = f), removeEventListener: n => delete on[n]}, w = {};
  new Function("window", "document", code)(w, d);
  const el = {getAttribute: a => a == "data-kaltura-entry-id" ? "0_x" : null, currentTime: 1, duration: 4,
              paused: false, ended: false, seeking: false, playbackRate: 1};
  on["play"]({type: "play", target: el});
  on["kaltura-web:consent"]({type: "kaltura-web:consent", target: d, detail: {state: "granted"}});
  on["kaltura-web:erase"]({type: "kaltura-web:erase", target: d});
  for (let i = 0; i < 1000; i++) on["pause"]({type: "pause", target: el});
  on["kaltura-web:consent"]({type: "kaltura-web:consent", target: d, detail: {state: "denied"}});
  w.kalturaWebQueue.stop();
  const q = w.kalturaWebQueue;
  return {dropped: q.dropped, left: Object.keys(on),
          records: q.filter(r => r.type != "pause").map(r => [r.type, r.state === undefined ? "-" : r.state])};
}
console.log(JSON.stringify([run(readable), run(mini)]));
"""
    out = subprocess.run([node, "-e", script, str(ROOT / "web/kaltura-snippet.js")], capture_output=True,
                         text=True, check=True).stdout
    readable, minified = json.loads(out)
    assert readable == minified
    assert readable["records"] == [["play", "-"], ["kaltura-web:consent", "granted"], ["kaltura-web:erase", "-"],
                                   ["kaltura-web:consent", "denied"]]
    assert readable["dropped"] == 3 and readable["left"] == []


def test_a_pending_page_asks_no_ks_until_consent_is_granted(monkeypatch):
    """Without consent the page makes no request at all: the KS provider is first called on the grant."""
    asked = []

    async def provider():
        asked.append(True)
        return "ks-from-the-backend"

    async def body(page, runtime, video, transport):
        play_through(video)
        await settle()
        before = list(asked)
        runtime.set_consent(GRANTED)
        await settle()
        return before, list(asked), transport.kses()

    config = {"consent": "pending", "ks": None}
    video = Video(ENTRY)
    page = FakePage(dict(CONFIG, **config), [video]).install(monkeypatch)
    transport = Transport()

    async def main():
        runtime = await start({"ksProvider": provider}, transport=transport)
        page.run_timers(0)
        await settle()
        result = await body(page, runtime, video, transport)
        runtime.stop()
        return result

    before, after, kses = asyncio.run(main())
    assert before == [] and after == [True] and kses and set(kses) == {"ks-from-the-backend"}
