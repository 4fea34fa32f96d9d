"""Ordered, at-least-once delivery of beacon records (pure logic).

The engine owns one FIFO queue per endpoint (stats.collect, trackEvent) and
keeps its state: which records wait, which batch is out, and whether the
queue may send (idle), waits to retry, or is paused for a KS or a wrong
endpoint.  The sender core (``sender.SenderCore``) turns each answer into
``settle_batch`` outcomes; the drivers around it only do the I/O.

Records are written to the Store (``ports.Store``) before they can be sent
and removed only when accepted or dead-lettered as bad beacons.  The KS is
held in memory only and attached at send time.  A Store that fails (quota,
storage disabled) is dropped: the engine keeps the queue in memory and says
so through diagnostics, never raising into the host.  Records the store
evicted leave the in-memory queue too (except one in flight, whose answer is
still coming), so memory and storage agree.  Several engines (browser tabs)
may share one store: ``reload(now)`` re-reads it, ``adopt``/``forget`` apply
one record another engine stored or removed.

Consent (``set_consent``, ``consent.ConsentGate``) stands in front of all
this: while it is pending records are held in memory only, while it is
denied they are dropped; neither writes to the store nor sends.
"""

from . import diagnostics as diag
from .consent import ConsentGate
from .encoding import ACCEPTED, AUTH, BAD_BEACON, CONFIG, QUEUES, worst_outcome
from .ports import MemoryStore
from .retry import RetryPolicy
from .validation import DENIED, GRANTED, PENDING
from .validation import consent as _check_consent
from .validation import ks as _check_ks

DEFAULT_MAX_QUEUE = 1000

# queue states
IDLE = "idle"
WAITING = "waiting"  # retrying after a transient failure
STALLED = "stalled"  # retries used up; waits for a trigger or the long timer
PAUSED_AUTH = "paused_auth"
PAUSED_CONFIG = "paused_config"


class _Queue:
    __slots__ = ("name", "items", "state", "attempts", "stalls", "due", "hold", "batch")

    def __init__(self, name, items):
        self.name = name
        self.items = items
        self.state = IDLE
        self.attempts = 0  # failed sends of the head record in this round
        self.stalls = 0
        self.due = 0.0  # pragma: no mutate (read only once a failure has set it)
        self.hold = 0.0  # the server asked (Retry-After) not to send before this time
        self.batch = []  # the records of the request that is out (head first), or []

    @property
    def in_flight(self):
        """The head record while a request is out, else None."""
        return self.batch[0] if self.batch else None


class DeliveryEngine(ConsentGate):
    """The queues of one tracker.  ``store``: a ``ports.Store`` (default in
    memory); ``retry``: the ``RetryPolicy``; ``diagnostics``: called as
    ``(code, message, details, lost, count)`` for each runtime problem;
    ``consent``: the consent state it starts in."""

    def __init__(self, store=None, max_queue=DEFAULT_MAX_QUEUE, diagnostics=None, retry=None,
                 consent=GRANTED):
        if type(max_queue) is not int or max_queue < 1:
            raise ValueError("max_queue must be a positive integer, got %r" % (max_queue,))
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise TypeError("retry must be a RetryPolicy, got %s" % type(retry).__name__)
        _check_consent(consent)
        self.retry = retry if retry is not None else RetryPolicy()
        self.store = store if store is not None else MemoryStore()
        self.max_queue = max_queue
        self._diag = diagnostics
        self.ks = None
        self.online = True
        self.dropped = 0  # records dropped by overflow or storage eviction
        self.storage_dropped = 0  # of which evicted by the store (budget, quota)
        self.unpersisted = 0  # records the store could not keep (memory only)
        self._memory_only = set()  # ids of the records the store could not keep
        self.dead_count = 0
        self.accepted = 0
        self.store_failed = False
        self.on_enqueue = None  # called after each enqueue (drivers wake up on it)
        self.consent = GRANTED
        self.held = []  # records kept in memory while consent is pending, oldest first
        self.discarded = 0  # records discarded because consent was denied (or by erase)
        self.abandoned = set()  # ids of records in flight when the queues were erased
        self.queues = {}
        for name in QUEUES:
            self.queues[name] = _Queue(name, self._load(name))
        if consent != GRANTED:
            self.set_consent(consent, 0.0)  # denied: nothing stored is kept either

    # -- store access that never raises ------------------------------------
    def _report(self, code, message, lost=None, count=1, **details):
        if self._diag is not None:
            self._diag(code, message, details, lost, count)

    def _store_call(self, method, *args):
        if self.store_failed or (self.consent == DENIED and method != "load"):
            return None  # denied: nothing is ever written
        try:
            return getattr(self.store, method)(*args)
        except Exception as exc:  # quota, storage disabled, disk errors
            self.store_failed = True
            self._report(diag.STORE_FAILED, "storage failed; queue kept in memory only",
                         error=repr(exc), op=method)
            return None

    def _load(self, name):
        items = self._store_call("load", name)
        return list(items) if items else []

    # -- public API --------------------------------------------------------
    def pending(self, queue=None):
        """Records not delivered yet: queued, and held while consent is pending."""
        if queue is not None:
            return len(self.queues[queue].items) + self._held_in(queue)
        return sum(len(q.items) for q in self.queues.values()) + len(self.held)

    def records(self, queue):
        return list(self.queues[queue].items)

    def in_flight(self, queue):
        """The records of ``queue``'s request that is out (head first), or []."""
        return list(self.queues[queue].batch)

    def enqueue(self, record, now):
        """Persist ``record`` then queue it; overflow drops the oldest.  Consent
        pending: hold it in memory only; denied: drop it (``discarded``)."""
        q = self.queues[record["k"]]
        if self.consent != GRANTED:
            if self.consent == PENDING:
                self._hold(q, record)
            else:
                self.discarded += 1
            return
        q.items.append(record)
        evicted = self._store_call("append", q.name, record)
        if evicted:
            self._evicted(evicted, record)
        overflow = len(q.items) - self.max_queue
        if overflow > 0:
            # never drop records in flight: their answer is still coming
            start = len(q.batch)
            victims = q.items[start:start + overflow]
            del q.items[start:start + overflow]
            if start == 0:
                self._store_call("drop_oldest", q.name, len(victims))
            else:
                for victim in victims:
                    self._store_call("remove", q.name, victim["i"])
            self.dropped += len(victims)
            self._report(diag.QUEUE_FULL, "queue full: dropped oldest beacons", lost=diag.LOST_QUEUE_FULL,
                         count=len(victims), queue=q.name,
                         dropped=len(victims), total_dropped=self.dropped)
        self._trigger(q, now, new_beacon=True)
        if self.on_enqueue is not None:
            try:
                self.on_enqueue(record)
            except Exception as exc:
                self._report(diag.HOOK_FAILED, "on_enqueue hook raised", error=repr(exc))

    def acknowledge(self, queue, beacon_id, now):
        """A record was accepted outside the send loop (e.g. by a keepalive
        fetch during page unload): forget it.  Returns True if it was queued.
        A record in flight is left to its own answer."""
        q = self.queues[queue]
        if self._flying(q, beacon_id):
            return False
        for record in q.items:
            if record["i"] == beacon_id:
                self._remove(q, record)
                self.accepted += 1
                if q.state in (WAITING, STALLED):  # never a pause: that needs a KS or a restart
                    self._restart(q, now)
                return True
        return False

    def reload(self, now):
        """Re-read the store (shared with other tabs): records stored by
        others join the queues, records others removed (accepted, evicted)
        leave them; the store's FIFO order is kept.  The records in flight
        (the batch) stay at the head and records kept in memory only stay at the tail.
        Returns the number of records added (none while consent is denied)."""
        added = 0
        if self.consent == DENIED:
            return added
        for q in self.queues.values():
            if self.store_failed:
                return added
            stored = self._store_call("load", q.name)
            if stored is None:
                return added
            known = {}
            for r in q.items:
                known[r["i"]] = r
            items = []
            seen = set()
            for flight in q.batch:
                items.append(flight)
                seen.add(flight["i"])
            for rec in stored:
                rid = rec["i"]
                if rid in seen:
                    continue
                seen.add(rid)
                mine = known.get(rid)
                if mine is None:
                    added += 1
                    items.append(rec)
                else:
                    items.append(mine)
            for r in q.items:
                if r["i"] not in seen and r["i"] in self._memory_only:
                    items.append(r)
            q.items = items
            if items:
                self._trigger(q, now, new_beacon=False)
        return added

    def adopt(self, record, now):
        """A record another tab stored in the shared store: queue it (no
        store write).  Returns True if it was new here."""
        q = self.queues.get(record.get("k"))
        if q is None or self.consent == DENIED:
            return False
        rid = record["i"]
        for r in q.items:
            if r["i"] == rid:
                return False
        q.items.append(record)
        self._trigger(q, now, new_beacon=True)
        return True

    def forget(self, queue, beacon_id):
        """Another tab removed a record from the shared store (accepted or
        evicted there): drop it here without a store call.  A record in
        flight is left to its own answer.  Returns True if it was queued."""
        q = self.queues.get(queue)
        if q is None or self._flying(q, beacon_id):
            return False
        return self._drop_local(q, beacon_id)

    def ready(self, now):
        """Records to send now (each queue: its head, if it may send)."""
        return [batch[0] for batch in self.ready_batches(now)]

    def ready_batches(self, now, limits=None):
        """Batches to send now: for each queue that may send, its first
        records, at most ``limits[queue]`` of them (default 1).  The batch is
        in flight until ``settle_batch``."""
        out = []
        if not self.online or self.consent != GRANTED:
            return out
        for q in self.queues.values():
            if q.in_flight is not None or not q.items:
                continue
            if q.state in (PAUSED_AUTH, PAUSED_CONFIG):
                continue
            if q.state in (WAITING, STALLED) and now < q.due:
                continue
            size = 1
            if limits and q.name in limits:
                size = max(1, limits[q.name])
            q.batch = q.items[:size]
            out.append(list(q.batch))
        return out

    def settle(self, record, outcome, reason, now):
        """Apply the answer to a sent record (see ``settle_batch``)."""
        return self.settle_batch(record["k"], [(record, outcome, reason)], now)

    def settle_batch(self, queue, results, now, retry_after=None):
        """Apply the answers to a batch slot by slot: the calls of a
        multirequest run independently on the server, so an accepted record
        leaves the queue (it is never sent again) and a bad beacon is
        dead-lettered wherever it sits.  Records whose call failed otherwise
        (auth, config, transient) stay queued at the head, in order, and the
        worst of those failures sets the queue's state.  ``results``:
        [(record, outcome, reason)], in the batch's order; ``retry_after``:
        the seconds the server asked to wait, if it did.  Returns False for
        an answer to a batch that is not in flight (ignored), else True."""
        q = self.queues[queue]
        head = results[0][0] if results else None
        if head is None or q.in_flight is None or q.in_flight["i"] != head["i"]:
            self._report(diag.STRAY_ANSWER, "answer for a record not in flight ignored",
                         beacon=head["i"] if head else None)
            return False
        q.batch = []
        failure = None  # (outcome, reason) of the worst call that keeps its record queued
        for record, outcome, reason in results:
            if outcome == ACCEPTED:
                self._remove(q, record)
                self.accepted += 1
            elif outcome == BAD_BEACON:
                self._remove(q, record)
                self.dead_count += 1
                self._store_call("dead_letter", q.name, record, reason)
                self._report(diag.BEACON_DEAD_LETTERED, "beacon rejected and dead-lettered",
                             lost=diag.LOST_DEAD_LETTERED, beacon=record["i"], reason=reason)
            elif failure is None or worst_outcome((failure[0], outcome)) != failure[0]:
                failure = (outcome, reason)
        if results[0][1] in (ACCEPTED, BAD_BEACON):
            q.attempts, q.stalls = 0, 0  # the head moved on: a new round of retries
        if failure is None:
            q.state = IDLE
        else:
            self._fail(q, failure[0], failure[1], now, retry_after)
        return True

    def reject(self, record, reason, now):
        """A record in flight that can never be sent (it cannot be encoded):
        dead-letter it with ``reason`` so the queue goes on."""
        for q in self.queues.values():
            if q.in_flight is record:
                return self.settle_batch(q.name, [(record, BAD_BEACON, reason)], now)
        return False

    def _fail(self, q, outcome, reason, now, retry_after=None):
        """Apply a failure that keeps records queued: pause for a KS or an
        endpoint, or wait as the retry policy says."""
        if outcome == AUTH:
            self._pause_auth(reason)
        elif outcome == CONFIG:
            q.state = PAUSED_CONFIG
            self._report(diag.ENDPOINT_MISCONFIGURED, "endpoint misconfigured; queue paused", queue=q.name, reason=reason)
        else:  # TRANSIENT
            q.attempts += 1
            stalled, wait = self.retry.schedule(q.attempts, q.stalls, retry_after)
            q.due = now + wait
            if retry_after is not None:
                q.hold = now + retry_after
            if not stalled:
                q.state = WAITING
            else:
                q.state = STALLED
                q.stalls += 1
                self._report(diag.RETRIES_EXHAUSTED, "retries used up; waiting for a trigger", queue=q.name, reason=reason)

    def next_wakeup(self):
        """The earliest time a waiting queue becomes due, or None (also while
        consent is not granted: nothing is sent then)."""
        if self.consent != GRANTED:
            return None
        dues = [q.due for q in self.queues.values()
                if q.items and q.in_flight is None and q.state in (WAITING, STALLED)]
        return min(dues) if dues else None

    def set_online(self, online, now):
        self.online = bool(online)
        if self.online:
            for q in self.queues.values():
                self._trigger(q, now, new_beacon=False)

    def set_ks(self, ks, now):
        """Use ``ks`` from now on; resumes queues paused by an auth failure
        when it is a different KS."""
        if ks is not None and ks != "":
            _check_ks(ks)
        changed = ks != self.ks
        self.ks = ks
        if changed and ks:
            for q in self.queues.values():
                if q.state == PAUSED_AUTH:
                    self._restart(q, now)

    def resume(self, now):
        """Start-up / reconfiguration: every paused or stalled queue tries
        again (not before a time the server asked for)."""
        for q in self.queues.values():
            if q.state in (PAUSED_CONFIG, STALLED, WAITING):
                self._restart(q, now)

    def status(self):
        return {q.name: {"state": q.state, "pending": len(q.items), "attempts": q.attempts}
                for q in self.queues.values()}

    # -- internals ---------------------------------------------------------
    def _flying(self, q, beacon_id):
        return any(r["i"] == beacon_id for r in q.batch)

    def _drop_local(self, q, beacon_id):
        """Remove a record from the in-memory queue only; True if it was there."""
        items = q.items
        for i in range(len(items)):
            if items[i]["i"] == beacon_id:
                del items[i]
                return True
        return False

    def _evicted(self, evicted, record):
        """Apply the store's evictions to the in-memory queues."""
        dropped = 0
        for pair in evicted:
            queue, beacon_id = pair[0], pair[1]
            if beacon_id == record["i"]:
                self._memory_only.add(beacon_id)
                self.unpersisted += 1
                self._report(diag.STORAGE_FULL, "storage full: beacon kept in memory only", beacon=beacon_id)
                continue  # pragma: no mutate (break is the same: the store's list ends with the record itself)
            q = self.queues.get(queue)
            if q is None:
                continue
            if self._flying(q, beacon_id):
                continue  # its answer is still coming; it is simply no longer stored
            if self._drop_local(q, beacon_id):
                dropped += 1
        if dropped:
            self.dropped += dropped
            self.storage_dropped += dropped
            self._report(diag.STORAGE_FULL, "storage full: dropped oldest beacons", lost=diag.LOST_STORAGE_EVICTED,
                         count=dropped, dropped=dropped,
                         total_dropped=self.storage_dropped)

    def _remove(self, q, record):
        self._drop_local(q, record["i"])  # the head, when settling: found at once
        self._memory_only.discard(record["i"])
        self._store_call("remove", q.name, record["i"])

    def _pause_auth(self, reason):
        for q in self.queues.values():
            q.state = PAUSED_AUTH
        self._report(diag.KS_REJECTED, "KS rejected; delivery paused until a new KS", reason=reason)

    def _trigger(self, q, now, new_beacon):
        if q.state == STALLED or (q.state == WAITING and not new_beacon):
            self._restart(q, now)

    def _restart(self, q, now):
        """A new round of retries: send now, or when the server's Retry-After ends."""
        q.attempts = 0
        if now < q.hold:
            q.state, q.due = WAITING, q.hold
        else:
            q.state, q.due = IDLE, now
