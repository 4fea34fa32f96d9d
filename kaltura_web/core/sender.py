"""The sender core: everything both senders decide, with none of their I/O.

``cpython.SyncSender`` and ``browser.AsyncSender`` are thin loops around it::

    for request in core.due(now):
        step = core.receive(request, transport.send(request), now)
        if step.ask_ks:
            core.take_ks(provider())
    sleep until core.next_wakeup()

``receive`` takes what the transport gave (a ``ports.Response`` or a
``ports.TransportError``), classifies it (each call of a multirequest on its
own) and settles the beacons in the engine: accepted ones leave the queue,
bad ones are dead-lettered, the others wait as the ``RetryPolicy`` says
(never sooner than a 429/503's ``Retry-After``), or pause: every queue for a
new KS, one queue for a wrong endpoint (404, redirect).  The KS provider is
asked once per auth episode: an episode starts when the KS is rejected and
ends when a beacon is accepted, so a KS that expires later is asked for again.
"""

from . import diagnostics as diag
from .encoding import ACCEPTED, AUTH, STATS, classify, classify_batch, encode_head, worst_outcome
from .ports import NETWORK, Response, TransportError, as_answer
from .validation import GRANTED

KEEPALIVE_BUDGET = 64 * 1024  # browsers refuse more keepalive body bytes in flight


def mask_ks(ks, empty="<none>"):
    """A KS shortened for logs: the first 8 and last 4 characters of it, nothing
    of a short one.  The only form in which a KS is ever printed or stored."""
    if not ks:
        return empty
    ks = str(ks)
    if len(ks) <= 16:
        return "…"
    return ks[:8] + "…" + ks[-4:]


class Step:
    """What one answer did.  ``outcome``: the worst among its beacons
    (``ACCEPTED`` only when all were); ``accepted``: how many were accepted;
    ``ask_ks``: the sender should ask the KS provider now; ``note``: a line
    for the sender's log, or None when all went well."""

    __slots__ = ("outcome", "accepted", "ask_ks", "note")

    def __init__(self, outcome, accepted=0, ask_ks=False, note=None):
        self.outcome = outcome
        self.accepted = accepted
        self.ask_ks = ask_ks
        self.note = note

    def __repr__(self):
        return "Step(%s, accepted=%d, ask_ks=%s)" % (self.outcome, self.accepted, self.ask_ks)


def _unpack(answer):
    """(status or None, headers, body, what to log) of a Response or TransportError."""
    if isinstance(answer, TransportError):
        return None, {}, None, str(answer)  # no answer, no body
    return answer.status, answer.headers, answer.body, "HTTP %d" % answer.status


class SenderCore:
    """The decisions of one tracker's senders (``tracker.sender_core``)."""

    def __init__(self, tracker):
        self.tracker = tracker
        self.engine = tracker.engine
        self.ks_asked = False  # the KS provider was asked in this auth episode

    @property
    def ks_provider(self):
        return self.tracker.ks_provider

    def due(self, now=None):
        """Requests to send now: at most one per endpoint queue (none while
        consent is not granted: ``consent.py``).  A stats.collect
        backlog goes out as ordered multirequests (up to the tracker's
        ``batch_size`` beacons and ``MAX_BATCH_BYTES``), a single beacon as
        itself.  A record that cannot be encoded is dead-lettered here and
        the queue goes on."""
        tracker = self.tracker
        now = tracker.clock() if now is None else now
        limits = {STATS: tracker.batch_size}
        out = []
        batches = self.engine.ready_batches(now, limits)
        while batches:
            batch = batches.pop(0)
            # records the request does not carry (byte cap, or behind one that cannot
            # be encoded) stay queued: the answer settles only those sent
            outgoing = [tracker.outgoing(record) for record in batch]
            request, reason = encode_head(outgoing, self.engine.ks, tracker.service_url, tracker.analytics_url)
            if request is None:
                self.engine.reject(batch[0], reason, now)  # one record fewer: the loop ends
                batches.extend(self.engine.ready_batches(now, limits))  # that queue goes on
            else:
                out.append(request)
        return out

    def receive(self, request, answer, now=None):
        """Settle the beacons of ``request`` with ``answer`` (a Response or a
        TransportError; anything else counts as a broken transport) and
        return the ``Step``."""
        now = self.tracker.clock() if now is None else now
        status, headers, body, said = _unpack(as_answer(answer))
        if self.engine.take_answer(request.beacon_id):  # sent before consent was denied or erase()
            return Step(classify(status, body)[0],
                        note="answer to a request sent before the queue was erased: ignored")
        batch = self.engine.in_flight(request.queue)
        if not batch or batch[0]["i"] != request.beacon_id:
            self.tracker.diagnose(diag.STRAY_ANSWER, "answer for a beacon not in flight",
                                  {"beacon": request.beacon_id})
            return Step(classify(status, body)[0], note="answer for a beacon not in flight ignored")
        records = batch[:len(request.beacon_ids)]
        outcomes = classify_batch(status, body, len(records))
        if status is None:
            outcomes = [(outcome, said) for outcome, _ in outcomes]
        results = [(records[i], outcomes[i][0], outcomes[i][1]) for i in range(len(records))]
        retry_after = self.engine.retry.retry_after(status, headers, now)
        self.engine.settle_batch(request.queue, results, now, retry_after)
        kinds = [outcome for outcome, _ in outcomes]
        for i in range(len(records)):
            if kinds[i] == ACCEPTED and records[i].get("kv"):
                self.tracker.answered(records[i], body)  # KAVA: sessionStartTime, viewEventsEnabled
        accepted = kinds.count(ACCEPTED)
        if accepted:
            self.ks_asked = False  # the auth episode is over
        worst = worst_outcome(kinds)
        if worst == ACCEPTED:
            return Step(worst, accepted)
        note = "beacon %s: %s (%s)" % (request.beacon_id[:8], worst, said)
        if retry_after is not None:
            note += ", Retry-After %g s" % retry_after
        ask = AUTH in kinds and not self.ks_asked
        if ask:
            self.ks_asked = True
            if self.ks_provider is None:
                ask = False
                note += "; KS rejected and no KS provider: delivery paused until a new KS"
        return Step(worst, accepted, ask, note)

    def take_ks(self, answer):
        """Use what the KS provider answered: ``(ks, note)``; ks is None when the
        answer is no usable KS (a diagnostic; delivery stays paused)."""
        ks = self.tracker.provider_ks(answer)
        if ks is None:
            return None, "KS provider gave no usable KS: delivery stays paused"
        return ks, "new KS from provider: " + mask_ks(ks)

    def next_wakeup(self):
        """When a waiting queue becomes due (Unix seconds), or None."""
        return self.engine.next_wakeup()

    # -- the unload flush ------------------------------------------------------
    def keepalive_requests(self, budget_bytes=KEEPALIVE_BUDGET, exclude=()):
        """Requests carrying the queued records for a page that is going away,
        within ``budget_bytes`` of bodies: stats.collect first, as ordered
        multirequests (one request keeps their order), then trackEvent one
        by one.  Records whose id is in ``exclude`` (already in a keepalive
        request) are left out; nothing leaves the queue until an answer says
        it was accepted (``acknowledge``).  Offline, or consent not granted: none."""
        if not self.engine.online or self.engine.consent != GRANTED:
            return []
        tracker = self.tracker
        stats, track = [], []
        for record in tracker.queued():
            if record["i"] not in exclude:
                (stats if record["k"] == STATS else track).append(record)
        records = stats + track
        out = []
        used = 0
        taken = 0  # records[:taken] are in a request already
        for n in range(len(records)):
            if n < taken:
                continue
            if records[n]["k"] == STATS:
                head = [r for r in records[n:n + tracker.batch_size] if r["k"] == STATS]
            else:
                head = [records[n]]
            req, _ = encode_head([tracker.outgoing(record) for record in head], self.engine.ks,
                                 tracker.service_url, tracker.analytics_url)
            if req is None:  # it cannot be encoded: the send loop dead-letters it
                continue
            if used + len(req.body) > budget_bytes:
                break  # nothing more is encoded than can go
            taken = n + len(req.beacon_ids)
            used += len(req.body)
            out.append(req)
        return out

    def acknowledge(self, request, answer, now=None):
        """Apply the answer to a keepalive request: the beacons it says were
        accepted leave their queue; nothing else changes (the send loop still
        owns retries and pauses).  Returns how many left."""
        now = self.tracker.clock() if now is None else now
        status, _headers, body, _said = _unpack(as_answer(answer))
        acked = 0
        outcomes = classify_batch(status, body, len(request.beacon_ids))
        for i in range(len(request.beacon_ids)):
            if outcomes[i][0] == ACCEPTED and self.engine.acknowledge(request.queue, request.beacon_ids[i], now):
                acked += 1
        return acked


def response_of(status, body, headers=None):
    """The answer ``(status, body)`` as a driver of the older form gives it:
    a Response, or a TransportError when ``status`` is None (no answer)."""
    if status is None:
        return TransportError(NETWORK, "no answer")
    return Response(status, headers, body)
