"""The localStorage store's pure logic on CPython, with a fake Storage object:
layout, per-beacon size, O(1) writes, budget and quota eviction, and the
engine contract for tabs sharing one store (reload / adopt / forget)."""

import random

import pytest

from kaltura_web.browser._runtime import JsException
from kaltura_web.browser.storage import LocalStorageStore, QuotaExceeded
from kaltura_web.browser.storage_layout import Namespace, context_ref, pack, unpack
from kaltura_web.core.delivery import DeliveryEngine
from kaltura_web.core.diagnostics import Diagnostics
from kaltura_web.core.encoding import STATS, TRACK, stats_record, track_record
from kaltura_web.core.tracker import uuid4

LONG_REFERRER = ("https://events.example-portal.com/lobby/main-stage/sessions/2024-keynote?"
                 "utm_source=newsletter&utm_medium=email&utm_campaign=spring-launch&ref=homepage-hero"
                 "&lang=en-US")
CONTEXT = {"u": 23448, "c": "kaltura_web:0.1.0 browser", "r": LONG_REFERRER}


class DomError(JsException):
    """What a refused localStorage call raises in Python: the browser's
    DOMException as ``JsException``, with its ``name``."""

    def __init__(self, name, message):
        super().__init__("%s: %s" % (name, message))
        self.name = name


class FakeStorage:
    """window.localStorage: getItem/setItem/removeItem/key/length, an
    optional quota in characters (keys + values), write counters."""

    def __init__(self, quota=None, refuse=None):
        self.data = {}
        self.quota = quota
        self.refuse = refuse  # a DOMException name every write throws (e.g. SecurityError)
        self.writes = 0
        self.removes = 0
        self.reads = 0  # getItem and key calls
        self._keys = None

    @property
    def length(self):
        return len(self.data)

    def key(self, i):
        self.reads += 1
        if self._keys is None:
            self._keys = list(self.data)
        return self._keys[i] if i < len(self._keys) else None

    def getItem(self, key):
        self.reads += 1
        return self.data.get(key)

    def _writable(self):
        if self.refuse:
            raise DomError(self.refuse, "the operation is insecure")

    def setItem(self, key, value):
        value = str(value)
        self._writable()
        if self.quota is not None:
            used = sum(len(k) + len(v) for k, v in self.data.items() if k != key)
            if used + len(key) + len(value) > self.quota:
                raise DomError("QuotaExceededError", "Failed to execute 'setItem' on 'Storage': exceeded the quota")
        if key not in self.data:
            self._keys = None
        self.data[key] = value
        self.writes += 1

    def removeItem(self, key):
        self._writable()
        if key in self.data:
            del self.data[key]
            self._keys = None
            self.removes += 1


_rng = random.Random(5)


def stats(n=0, session="5c1e3f0a-7b2d-4e8f-9a1b-2c3d4e5f6a7b"):
    return stats_record(uuid4(_rng), 3, 100, "0_lobby001", session, 1700000000 + n, CONTEXT,
                        position=12.4 + n, duration=60.0, seek=False)


def track(n=0):
    return track_record(uuid4(_rng), 10002, 100, 1700000000 + n,
                        {"entryId": "0_lobby001", "kalturaApplication": "portal-demo",
                         "buttonType": "cta", "buttonName": "register-now"})


def store_on(storage, **kw):
    return LocalStorageStore(100, "viewer@example.com", storage=storage, **kw)


def record_chars(storage, store):
    prefix = store.namespace + ":q:"
    return [len(k) + len(v) for k, v in storage.data.items() if k.startswith(prefix)]


def test_pack_unpack_round_trip():
    """The stored body leaves out the queue and context fields; unpack restores the record exactly."""
    rec = stats(1)
    body, ctx = pack(rec)
    assert "k" not in body and "r" not in body and "p" not in body
    assert unpack(STATS, body, ctx) == rec


def test_backlog_reloads_with_original_values():
    """A new store on the same storage (a reload, another tab) loads the records unchanged, in order."""
    storage = FakeStorage()
    a = store_on(storage)
    recs = [stats(i) for i in range(5)]
    tr = [track(i) for i in range(3)]
    for r in recs:
        a.append(STATS, r)
    for r in tr:
        a.append(TRACK, r)
    b = store_on(storage)
    assert b.load(STATS) == recs
    assert b.load(TRACK) == tr


def test_a_queued_beacon_takes_at_most_300_characters():
    """Measured: a stats beacon with a long referrer and a trackEvent beacon, key + value."""
    storage = FakeStorage()
    store = store_on(storage)
    store.append(STATS, stats(1))
    store.append(STATS, stats(2))
    store.append(TRACK, track(1))
    sizes = record_chars(storage, store)
    print("characters per queued beacon:", sizes, "referrer", len(LONG_REFERRER))
    assert max(sizes) <= 300
    # the referrer and clientVer are stored once per page, not per beacon
    assert sum(1 for k in storage.data if ":x:" in k) == 2  # one stats, one track context


def test_enqueue_writes_do_not_depend_on_the_queue_length():
    """O(1) storage work per beacon: the same reads and writes per enqueue at 10,000 queued as at 10
    (the time it takes is measured by bench/, never asserted here)."""
    storage = FakeStorage()
    engine = DeliveryEngine(store_on(storage, budget=10 ** 9), max_queue=20000)
    engine.online = False

    def batch(n):
        recs = [stats(i) for i in range(n)]
        w0, r0 = storage.writes, storage.reads
        for r in recs:
            engine.enqueue(r, 0.0)
        return (storage.reads - r0) / n, (storage.writes - w0) / n

    for _ in range(10):
        engine.enqueue(stats(), 0.0)
    small_r, small_w = batch(300)
    while engine.pending() < 10000:
        batch(1000)
    big_r, big_w = batch(300)
    assert small_w == big_w == 2  # the record and the sequence counter
    assert big_r == small_r, (small_r, big_r)  # no scan of the stored queue per beacon
    # acknowledging removes one key
    r0 = storage.removes
    for rec in engine.records(STATS)[:100]:
        engine.acknowledge(STATS, rec["i"], 0.0)
    assert storage.removes - r0 == 100


def test_over_budget_drops_the_oldest_and_memory_agrees():
    """Over the byte budget the oldest records go, from storage and from the engine's memory alike."""
    diags = Diagnostics()
    storage = FakeStorage()
    store = store_on(storage, budget=3000)
    engine = DeliveryEngine(store, diagnostics=diags.report)
    recs = [stats(i) for i in range(40)]
    for r in recs:
        engine.enqueue(r, 0.0)
    kept = engine.records(STATS)
    assert 5 < len(kept) < 40
    assert kept == recs[-len(kept):]  # the newest survive, in order
    assert engine.storage_dropped == 40 - len(kept) == engine.dropped
    assert diags.count("storage-full") and diags.lost["storage-evicted"] > 0
    assert store_on(storage).load(STATS) == kept
    assert sum(len(k) + len(v) for k, v in storage.data.items()) <= 3000
    assert not engine.store_failed


def test_quota_exceeded_evicts_oldest_never_raises():
    """Storage already full of another namespace's junk: records still queue, the oldest are evicted."""
    storage = FakeStorage(quota=4000)
    storage.setItem("other-app:junk", "x" * 2600)
    engine = DeliveryEngine(store_on(storage))
    recs = [stats(i) for i in range(30)]
    for r in recs:
        engine.enqueue(r, 0.0)
    kept = engine.records(STATS)
    assert kept and kept == recs[-len(kept):]
    assert engine.storage_dropped == 30 - len(kept)
    assert store_on(storage).load(STATS) == kept
    assert not engine.store_failed
    assert storage.data["other-app:junk"] == "x" * 2600  # never touches other keys


def test_nothing_to_evict_falls_back_to_memory():
    """Storage full of other data and nothing of ours to evict: the engine keeps its queue in memory."""
    storage = FakeStorage(quota=100)
    storage.setItem("junk", "x" * 90)
    diags = Diagnostics()
    engine = DeliveryEngine(store_on(storage), diagnostics=diags.report)
    rec = stats()
    engine.enqueue(rec, 0.0)
    assert engine.records(STATS) == [rec]
    assert engine.store_failed
    assert diags.codes() == ["store-failed"]
    assert engine.ready(0.0) == [rec]  # still delivered while the page lives


def test_a_store_may_report_the_new_record_unstored():
    """Contract: append's evictions may end with the record itself; it stays in memory only."""
    class Full(LocalStorageStore):
        def append(self, queue, record):
            return [(queue, record["i"])]

    diags = Diagnostics()
    engine = DeliveryEngine(Full(100, storage=FakeStorage()), diagnostics=diags.report)
    rec = stats()
    engine.enqueue(rec, 0.0)
    assert engine.records(STATS) == [rec] and engine.unpersisted == 1
    assert "storage-full" in diags.codes() and not diags.lost
    assert engine.reload(0.0) == 0 and engine.records(STATS) == [rec]  # kept across a reload


def test_in_flight_record_is_not_dropped_from_memory():
    """A record in flight stays in memory when the budget evicts it from storage (its answer is still coming)."""
    storage = FakeStorage()
    engine = DeliveryEngine(store_on(storage, budget=1200))
    first = stats(0)
    engine.enqueue(first, 0.0)
    assert engine.ready(0.0) == [first]
    for i in range(1, 20):
        engine.enqueue(stats(i), 0.0)
    assert engine.records(STATS)[0] is first  # answer still coming
    engine.settle(first, "accepted", "HTTP 200", 1.0)
    assert store_on(storage).load(STATS) == engine.records(STATS)


def test_two_tabs_share_one_store():
    """Tab B stores; tab A (the sender) adopts from the storage event; A's acknowledgements make B forget."""
    storage = FakeStorage()
    sa, sb = store_on(storage, tab="a"), store_on(storage, tab="b")
    a, b = DeliveryEngine(sa), DeliveryEngine(sb)
    before = set(storage.data)
    r1 = stats(1)
    b.enqueue(r1, 0.0)
    for key in set(storage.data) - before:
        change = sa.observe(key, storage.data[key])
        if change and change[0] == "add":
            assert a.adopt(change[1], 0.0)
    assert a.records(STATS) == [r1]
    [record_key] = [k for k in set(storage.data) - before if ":q:" in k]
    [sent] = a.ready(0.0)
    a.settle(sent, "accepted", "HTTP 200", 0.0)
    assert record_key not in storage.data
    change = sb.observe(record_key, None)
    assert change == ("remove", STATS, r1["i"])
    assert b.forget(STATS, r1["i"]) and b.pending() == 0


def test_reload_merges_in_store_order():
    """Two tabs' records reload in the store's (seq, tab) order; records another tab delivered leave."""
    storage = FakeStorage()
    sa, sb = store_on(storage, tab="a"), store_on(storage, tab="b")
    a, b = DeliveryEngine(sa), DeliveryEngine(sb)
    r = [stats(i) for i in range(6)]
    a.enqueue(r[0], 0.0)
    b.enqueue(r[1], 0.0)
    a.enqueue(r[2], 0.0)
    b.enqueue(r[3], 0.0)
    assert a.records(STATS) == [r[0], r[2]]
    assert a.reload(1.0) == 2
    assert a.records(STATS) == r[:4]
    # b's stale memory: a delivered r0 and r1 meanwhile
    for rec in a.ready(1.0):
        a.settle(rec, "accepted", "HTTP 200", 1.0)
    for rec in a.ready(1.0):
        a.settle(rec, "accepted", "HTTP 200", 1.0)
    assert b.reload(2.0) == 1  # r2 joins, r1 leaves
    assert b.records(STATS) == [r[2], r[3]]


def test_sender_closed_mid_send_the_next_sender_resends():
    """A record in flight when its tab closes stays stored and the next sender sends it."""
    storage = FakeStorage()
    a = DeliveryEngine(store_on(storage, tab="a"))
    rec = stats()
    a.enqueue(rec, 0.0)
    assert a.ready(0.0) == [rec]  # tab a closes before the answer
    b = DeliveryEngine(store_on(storage, tab="b"))
    b.reload(5.0)
    assert b.ready(5.0) == [rec]
    b.settle(rec, "accepted", "HTTP 200", 5.0)
    assert store_on(storage).load(STATS) == []


def test_memory_store_contract_unchanged():
    """The memory store appends without evicting and a reload picks up what was appended behind the engine."""
    engine = DeliveryEngine()
    rec = stats()
    engine.enqueue(rec, 0.0)
    assert engine.store.append(STATS, stats()) is None
    assert engine.reload(0.0) == 1  # the record appended behind the engine's back
    assert engine.records(STATS)[0] is rec


def test_prune_contexts_keeps_referenced_ones():
    """Pruning removes the context no stored record refers to and keeps the one still in use."""
    storage = FakeStorage()
    store = store_on(storage)
    engine = DeliveryEngine(store)
    engine.enqueue(stats(), 0.0)
    engine.enqueue(track(), 0.0)
    for rec in engine.records(TRACK):
        engine.acknowledge(TRACK, rec["i"], 0.0)
    assert store.prune_contexts() == 1
    assert store_on(storage).load(STATS) == engine.records(STATS)


def test_a_lost_context_still_gives_a_sendable_record():
    """A record whose context was pruned away loads with the namespace's partner id."""
    storage = FakeStorage()
    store = store_on(storage)
    rec = stats()
    store.append(STATS, rec)
    for key in [k for k in storage.data if ":x:" in k]:
        storage.removeItem(key)
    [back] = store_on(storage).load(STATS)
    assert back["p"] == 100 and back["i"] == rec["i"] and "r" not in back


def test_local_storage_store_fills_the_store_port_and_exposes_raw_items():
    """LocalStorageStore is a ports.Store; read_item/write_item/remove_item reach other keys (the tabs' lease) as they are."""
    from kaltura_web.core.ports import Store

    storage = FakeStorage()
    store = store_on(storage)
    key = store.namespace + ":lease"
    assert isinstance(store, Store) and store.read_item(key) is None
    store.write_item(key, "tab:123")
    assert storage.data[key] == "tab:123" and store.read_item(key) == "tab:123"
    store.remove_item(key)
    assert key not in storage.data and store.read_item(key) is None


def test_a_refusal_other_than_the_quota_is_not_taken_for_one():
    """setItem refused for another reason (SecurityError) evicts nothing: append raises it and the engine goes on in memory."""
    storage = FakeStorage()
    store = store_on(storage)
    store.append(STATS, stats(0))
    storage.refuse = "SecurityError"
    with pytest.raises(DomError):
        store.append(STATS, stats(1))
    assert store.evicted == 0 and len(record_chars(storage, store)) == 1
    diags = Diagnostics()
    engine = DeliveryEngine(store_on(storage), diagnostics=diags.report)
    engine.enqueue(stats(2), 0.0)
    assert engine.store_failed and diags.codes() == ["store-failed"] and engine.pending() == 2


def test_write_item_names_a_full_quota():
    """write_item (the tabs' lease) raises QuotaExceeded for a full storage, so callers catch exactly that."""
    storage = FakeStorage(quota=10)
    with pytest.raises(QuotaExceeded):
        store_on(storage).write_item("kaltura_web:100:-:lease", "tab:1700000000000")


def test_a_dead_letter_that_does_not_fit_is_reported_and_evicts_nothing():
    """A full storage loses only the dead letter: a storage-full diagnostic names it and every queued record stays."""
    storage = FakeStorage()
    diags = Diagnostics()
    store = store_on(storage, diagnose=diags.report)
    queued = [stats(i) for i in range(3)]
    for rec in queued:
        store.append(STATS, rec)
    storage.quota = sum(len(k) + len(v) for k, v in storage.data.items())
    bad = stats(9)
    store.dead_letter(STATS, bad, "INVALID_ENTRY_ID")
    (entry,) = diags.entries
    assert entry["code"] == "storage-full" and entry["details"]["beacon"] == bad["i"]
    assert store.dead_letters(STATS) == [] and store_on(storage).load(STATS) == queued
    storage.quota = None
    store.dead_letter(STATS, bad, "INVALID_ENTRY_ID")
    assert [d["reason"] for d in store.dead_letters(STATS)] == ["INVALID_ENTRY_ID"] and len(diags.entries) == 1


def test_layout_keys_and_context_references():
    """Record keys round-trip through parse_record_key (quoted user id); other keys and malformed ones are not records."""
    ns = Namespace(100, "a:b%c")
    assert ns.name == "kaltura_web:100:a%3Ab%25c"
    key = ns.record_key("s", 71, "k3f")
    assert key == ns.name + ":q:s:1z.k3f" and ns.parse_record_key(key) == ("s", 71, "k3f")
    for other in (ns.key("n", "s"), ns.name + ":q:s:1z", ns.name + ":q:s:.t", ns.name + ":q:s:!!.t",
                  "kaltura_web:100:-:q:s:1.t"):
        assert ns.parse_record_key(other) is None
    assert ns.context_name(ns.key("x", "abc")) == "abc" and ns.context_name(key) is None
    assert ns.owns(key) and not ns.owns("kaltura_web:100:a")
    assert context_ref('{"i":"b1","x":"q2z"}') == "q2z" and context_ref('{"i":"b1"}') is None


def test_the_index_stays_bounded_however_many_beacons_pass_through():
    """Found by `make soak`: 10,000 beacons appended and acknowledged one by one leave the in-memory index small (it grew by one entry per beacon)."""
    storage = FakeStorage()
    store = store_on(storage)
    for n in range(10_000):
        rec = stats(n)
        store.append(STATS, rec)
        store.remove(STATS, rec["i"])
    assert sum(len(order) for order in store._order.values()) <= 130
    assert store.count() == 0 and not record_chars(storage, store)
