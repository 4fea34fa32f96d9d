"""Consent in front of the delivery engine (pure logic): held, queued, discarded.

``DeliveryEngine`` inherits ``ConsentGate``; this module holds what consent
changes, the engine (``delivery.py``) the queues themselves.  A tracker is in
one of three states (``validation.CONSENT_STATES``):

- ``granted`` (the default): records are written to the store and sent;
- ``pending``: a new record is *held* in memory only (``held``, oldest first
  over both queues, each queue's share capped at ``max_queue`` like the queue
  itself: the oldest is dropped and counted in ``lost``); nothing is written
  to the store and nothing is sent.  Records queued before (a stored backlog)
  stay stored, unsent;
- ``denied``: the held and queued records are discarded, the store is erased
  (``Store.erase``), a request in flight is abandoned (its answer is ignored)
  and a ``consent-denied`` diagnostic gives the count; afterwards a new record
  is dropped (counted in ``discarded``), nothing is written or sent.

Granting after ``pending`` enqueues the held records in their order, with
their original times.  ``erase`` wipes storage and memory as ``denied`` does
but keeps the consent (diagnostic ``erased``).
"""

from . import diagnostics as diag
from .validation import DENIED, GRANTED
from .validation import consent as _check_consent


class ConsentGate:
    """The consent part of ``DeliveryEngine`` (which sets ``consent``, ``held``,
    ``discarded`` and ``abandoned`` up and calls ``_hold`` from ``enqueue``)."""

    def _held_in(self, queue):
        return sum(1 for r in self.held if r["k"] == queue)

    def _hold(self, q, record):
        """Keep ``record`` in memory until consent is given; past ``max_queue``
        records of its queue the oldest held one is dropped, as the queue would."""
        self.held.append(record)
        if self._held_in(q.name) <= self.max_queue:
            return
        for i in range(len(self.held)):
            if self.held[i]["k"] == q.name:
                del self.held[i]
                break
        self.dropped += 1
        self._report(diag.QUEUE_FULL, "queue full while consent is pending: dropped the oldest beacon",
                     lost=diag.LOST_QUEUE_FULL, count=1, queue=q.name, dropped=1, total_dropped=self.dropped)

    def set_consent(self, state, now):
        """Move to consent ``state`` (see the module's docstring).  Returns how
        many records it moved to the queues (granted) or discarded (denied);
        the same state again changes nothing."""
        _check_consent(state)
        if state == self.consent:
            return 0
        self.consent = state
        if state == GRANTED:
            held, self.held = self.held, []
            for record in held:
                self.enqueue(record, now)
            for q in self.queues.values():  # records queued before consent was withdrawn go again
                self._trigger(q, now, new_beacon=False)
            return len(held)
        if state == DENIED:
            count = self._wipe()
            self._report(diag.CONSENT_DENIED, "consent denied: %d beacons discarded, stored queue erased" % count,
                         discarded=count)
            return count
        return 0  # pending: what is queued stays (unsent), new records are held

    def erase(self, now):
        """Remove every record and key of the store (``Store.erase``) and every
        record in memory (held, queued, in flight: its answer is ignored); the
        consent stays as it is.  Returns how many records were discarded."""
        count = self._wipe()
        self._report(diag.ERASED, "stored queue and beacons in memory erased (%d beacons)" % count,
                     discarded=count)
        return count

    def _wipe(self):
        """Discard the held and queued records and erase the store; the count."""
        count = len(self.held)
        self.held = []
        for q in self.queues.values():
            count += len(q.items)
            for record in q.batch:
                self.abandoned.add(record["i"])
            q.items, q.batch = [], []
        self._memory_only = set()
        self.discarded += count
        try:
            self._erase_store()
        except Exception as exc:  # storage disabled or refusing: nothing more is written to it
            self.store_failed = True
            self._report(diag.STORE_FAILED, "storage failed while erasing", error=repr(exc), op="erase")
        return count

    def _erase_store(self):
        try:
            self.store.erase()
            return
        except NotImplementedError:  # a Store without erase: emptied queue by queue
            pass
        for name in self.queues:
            stored = self.store.load(name)
            if stored:
                self.store.drop_oldest(name, len(stored))

    def take_answer(self, beacon_id):
        """True (once) when ``beacon_id`` headed a request in flight when the
        queues were erased: its answer is to be ignored."""
        if beacon_id in self.abandoned:
            self.abandoned.discard(beacon_id)
            return True
        return False
