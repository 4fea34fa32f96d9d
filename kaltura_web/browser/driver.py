"""The asynchronous delivery driver: SyncSender's loop on the page's event loop.

``AsyncSender`` pumps ``tracker.due_requests()`` through a transport whose
``send`` is a coroutine, feeds every answer to ``tracker.handle_response()``,
asks the KS provider once when ``tracker.needs_ks`` and sets the new KS, and
sleeps with ``setTimeout`` until ``tracker.next_wakeup()``.  New beacons call
``kick()`` (the browser tracker does it on every enqueue).  ``active`` is
False while another tab holds the sender role (``tabs.TabCoordinator``):
then nothing is sent, not even on ``pagehide``.

``flush_keepalive()`` is for ``pagehide`` / ``visibilitychange``: it sends
every queued record with ``fetch(..., {keepalive: true})`` (at most 64 KB of
bodies in flight) without removing anything: records stay queued until an
answer says they were accepted, and a beacon acknowledged after the page is
gone is re-sent on the next load (the collector keeps one per beacon id).
"""

from ..core import encoding
from ..core.tracker import mask_ks
from . import _ffi
from .transport import KEEPALIVE_BUDGET


class AsyncSender:
    def __init__(self, tracker, transport, ks_provider=None, log=None, timers=None):
        self.tracker = tracker
        self.transport = transport
        self.ks_provider = ks_provider
        self.log = log
        self.timers = timers if timers is not None else _ffi.Timers()
        self.sent = 0
        self.answers = 0
        self._running = False
        self._again = False
        self._timer = None
        self._timer_due = None
        self._asking_ks = False
        self._keepalive_bytes = 0
        self._keepalive_ids = set()
        self.closed = False
        self.held = False  # True while waiting for the first KS: nothing is sent
        self.active = True  # False while another tab is the sender (tabs.TabCoordinator)
        self.coordinator = None  # the TabCoordinator, when tabs share the queue

    def _log(self, line):
        if self.log is not None:
            try:
                self.log(line)
            except Exception:
                pass

    # -- scheduling ----------------------------------------------------------
    def kick(self):
        """Something changed (new beacon, online, new KS): pump soon."""
        if self.closed or self.held or not self.active:
            return
        if self._running:
            self._again = True
            return
        self._running = True
        _ffi.spawn(self._pump())

    async def _pump(self):
        try:
            while True:
                self._again = False
                sends = []
                for req in self.tracker.due_requests():
                    sends.append(self._send(req))
                for coro in _gather_list(sends):
                    await coro
                if not sends and not self._again:
                    break
        except Exception as exc:  # never raise into the page
            self._log("sender error: %r" % (exc,))
        finally:
            self._running = False
        self._schedule()

    async def _send(self, req):
        status, body = await self.transport.send(req)
        self.answers += 1
        outcome = self.tracker.handle_response(req, status, body)
        if outcome == encoding.ACCEPTED:
            self.sent += 1
        else:
            self._log("beacon %s: %s (HTTP %s)" % (req.beacon_id[:8], outcome, status))
        if outcome == encoding.AUTH and self.tracker.needs_ks:
            self.tracker.needs_ks = False
            await self.refresh_ks()

    def _schedule(self):
        wake = self.tracker.next_wakeup()
        if wake is None or self.closed:
            return
        if self._timer is not None:
            if self._timer_due is not None and self._timer_due <= wake:
                return
            self.timers.cancel(self._timer)
        delay = max(0.0, wake - self.tracker.clock()) + 0.01
        self._timer_due = wake
        self._timer = self.timers.call_later(delay, self._on_timer)

    def _on_timer(self):
        self._timer = None
        self._timer_due = None
        self.kick()

    # -- KS ------------------------------------------------------------------
    async def refresh_ks(self):
        """Ask the KS provider for a KS (once at a time) and use it."""
        if self.ks_provider is None:
            self._log("KS rejected and no KS provider: delivery paused")
            return None
        if self._asking_ks:
            return None
        self._asking_ks = True
        try:
            ks = await _ffi.resolve(self.ks_provider())
        except Exception as exc:
            self._log("KS provider failed: %r" % (exc,))
            return None
        finally:
            self._asking_ks = False
        if _ffi.is_nullish(ks):
            ks = None  # JS null / undefined
        if self.tracker.provider_ks(ks) is None:
            self._log("KS provider gave no usable KS")
            return None
        self._log("new KS from provider: %s" % mask_ks(ks))
        self.held = False
        self.kick()
        return ks

    # -- page lifecycle --------------------------------------------------------
    def flush_keepalive(self):
        """Send the queue with keepalive fetches (64 KB of bodies in flight):
        stats.collect records as ordered multirequest batches, so the order
        survives the page going away; trackEvent records one by one."""
        if self.closed or not self.active or not self.tracker.engine.online:
            return 0  # only the sender tab flushes: the others' records are in the shared store
        tracker = self.tracker
        stats, track = [], []
        for record in tracker.queued():
            if record["i"] not in self._keepalive_ids:
                (stats if record["k"] == encoding.STATS else track).append(record)
        started = 0
        while stats or track:  # stats first, as ordered multirequests within the byte cap
            head = stats[:tracker.batch_size] if stats else track[:1]
            req, _ = encoding.encode_head(head, tracker.ks, tracker.service_url, tracker.analytics_url)
            if req is None:  # it cannot be encoded: the send loop dead-letters it
                if stats:
                    stats = stats[1:]
                else:
                    track = track[1:]
                continue
            size = len(req.body)
            if self._keepalive_bytes + size > KEEPALIVE_BUDGET:
                break  # nothing more is encoded than can go
            if stats:
                stats = stats[len(req.beacon_ids):]
            else:
                track = track[1:]
            self._keepalive_bytes += size
            for beacon_id in req.beacon_ids:
                self._keepalive_ids.add(beacon_id)
            _ffi.spawn(self._send_keepalive(req, size))
            started += 1
        return started

    async def _send_keepalive(self, req, size):
        try:
            status, body = await self.transport.send(req, keepalive=True)
        finally:
            self._keepalive_bytes -= size
            for beacon_id in req.beacon_ids:
                self._keepalive_ids.discard(beacon_id)
        outcomes = encoding.classify_batch(status, body, len(req.beacon_ids))
        acked = 0
        for i in range(len(req.beacon_ids)):
            if outcomes[i][0] == encoding.ACCEPTED:
                if self.tracker.engine.acknowledge(req.queue, req.beacon_ids[i], self.tracker.clock()):
                    acked += 1
        if acked:
            self.sent += acked
            self.kick()

    def hold_until_ks(self, retry=10.0):
        """Send nothing until the KS provider gives a KS; ask again every
        ``retry`` seconds."""
        self.held = True

        def again():
            if self.held and not self.closed:
                _ffi.spawn(self._retry_ks(retry))

        self.timers.call_later(retry, again)

    async def _retry_ks(self, retry):
        if await self.refresh_ks() is None:
            self.hold_until_ks(retry)

    def close(self):
        self.closed = True
        self.timers.cancel_all()
        if self.coordinator is not None:
            try:
                self.coordinator.stop()
            except Exception:
                pass


def _gather_list(coros):
    """Start every coroutine now; return awaitables in the same order."""
    if len(coros) <= 1:
        return coros
    return [_ffi.spawn(c) for c in coros]
