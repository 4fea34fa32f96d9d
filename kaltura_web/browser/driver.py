"""The asynchronous sender: the core's ``SenderCore`` on the page's event loop.

``AsyncSender`` is a thin loop: it sends what ``sender_core.due()`` gives
through a transport whose ``send`` is a coroutine, feeds each answer to
``sender_core.receive()``, asks the tracker's KS provider when the core says
so, and sleeps with ``setTimeout`` until ``next_wakeup()``.  New beacons call
``kick()`` (the page wires it to every enqueue).  ``active`` is False while
another tab holds the sender role (``tabs.TabCoordinator``): then nothing is
sent, not even on ``pagehide``.

Two holds keep everything queued: ``held`` until the KS provider gave the
first KS (``first_ks``), and ``loading`` until the page has read the stored
queue (``KalturaWeb.open_store``): a backlog from an earlier visit leaves
before what this page recorded meanwhile.  The first KS and the first beacon
accepted are performance marks (``kaltura_web:ks``, ``kaltura_web:first-beacon``).

``flush_keepalive()`` is for ``pagehide`` / ``visibilitychange``: it sends
the requests ``tracker.keepalive_requests()`` builds with ``fetch(...,
{keepalive: true})`` (at most 64 KB of bodies in flight) without removing
anything: records stay queued until an answer says they were accepted, and a
beacon accepted after the page is gone is re-sent on the next load (the
collector, like Kaltura, stores it again and marks it ``duplicate_of``).

Every task runs under the guard (``_timers.spawn``): an exception of the
SDK's own code is an ``sdk-error`` diagnostic.  Two calls out are caught
here, because the code called is not the SDK's: a transport that raises (its
answer becomes a ``TransportError``, the batch is retried, never left in
flight) and the KS provider (a ``ks-provider-failed`` diagnostic).  The
``log`` callable runs under the guard too (``hook-failed``).
"""

from ..core import diagnostics as diag
from ..core.ports import raised
from ..core.sender import KEEPALIVE_BUDGET
from . import _env
from ._convert import is_nullish, resolve
from ._guard import guard, report
from ._timers import Timers, spawn


class AsyncSender:
    """Sends ``tracker``'s queue with ``transport`` (``FetchTransport``);
    ``log`` receives one line per notable step (a KS appears only masked);
    ``sent`` counts the beacons accepted."""

    def __init__(self, tracker, transport, log=None, timers=None):
        self.tracker = tracker
        self.core = tracker.sender_core
        self.transport = transport
        self.log = guard(log, tracker, "sender log", diag.HOOK_FAILED) if log is not None else None
        self.timers = timers if timers is not None else Timers(tracker)
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
        self.loading = False  # True until the page has read the stored queue: nothing is sent
        self.had_ks = False  # a KS came from the provider (the first one is marked)
        self.active = True  # False while another tab is the sender (tabs.TabCoordinator)
        self.coordinator = None  # the TabCoordinator, when tabs share the queue

    def _log(self, line):
        if self.log is not None and line:
            self.log(line)

    # -- scheduling ----------------------------------------------------------
    def kick(self):
        """Something changed (new beacon, online, new KS): pump soon."""
        if self.closed or self.held or self.loading or not self.active:
            return
        if self._running:
            self._again = True
            return
        self._running = True
        spawn(self._pump(), self.tracker, "sender")

    async def _pump(self):
        try:
            while True:
                self._again = False
                sends = []
                for req in self.core.due():
                    sends.append(self._send(req))
                for coro in _gather_list(sends, self.tracker):
                    await coro
                if not sends and not self._again:
                    break
        finally:  # an exception goes on to the guard (spawn): sdk-error
            self._running = False
            self._schedule()

    async def _exchange(self, req, **options):
        """The transport's answer; one that raises gives a TransportError instead."""
        try:
            return await self.transport.send(req, **options)
        except Exception as exc:  # any transport (the page may give its own): the batch must not stick
            return raised(exc)

    async def _send(self, req):
        step = self.core.receive(req, await self._exchange(req))
        self.answers += 1
        self._accepted(step.accepted)
        self._log(step.note)
        if step.ask_ks:
            await self.refresh_ks()

    def _accepted(self, count):
        if count and not self.sent:
            _env.mark("first-beacon")
        self.sent += count

    def _schedule(self):
        wake = self.core.next_wakeup()
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
        """Ask the tracker's KS provider for a KS (once at a time) and use it;
        returns the KS, or None."""
        provider = self.core.ks_provider
        if provider is None or self._asking_ks:
            return None
        self._asking_ks = True
        try:
            ks = await resolve(provider())
        except Exception as exc:  # the page's provider (a fetch, the developer's code), not the SDK
            report(self.tracker, "KS provider", exc, diag.KS_PROVIDER_FAILED)
            self._log("KS provider failed: %r" % (exc,))
            return None
        finally:
            self._asking_ks = False
        if is_nullish(ks):
            ks = None  # JS null / undefined
        ks, note = self.core.take_ks(ks)
        self._log(note)
        if ks is None:
            return None
        if not self.had_ks:
            self.had_ks = True
            _env.mark("ks")
        self.held = False
        self.kick()
        return ks

    async def first_ks(self, retry=10.0):
        """Hold every send until the KS provider gives the first KS (asked
        again every ``retry`` seconds until it does).  The page does not wait
        for this: beacons are recorded and queued meanwhile."""
        self.held = True
        if await self.refresh_ks() is None:
            self.hold_until_ks(retry)

    # -- page lifecycle --------------------------------------------------------
    def flush_keepalive(self):
        """Start keepalive fetches for the queue, as ``tracker.keepalive_requests``
        builds them within what is left of the 64 KB budget.  Returns how many
        requests started."""
        if self.closed or not self.active:
            return 0  # only the sender tab flushes: the others' records are in the shared store
        if self.held or self.loading:
            return 0  # no KS yet, or the backlog not read: the records stay stored for the next page
        budget = KEEPALIVE_BUDGET - self._keepalive_bytes
        requests = self.tracker.keepalive_requests(budget, self._keepalive_ids)
        for req in requests:
            self._keepalive_bytes += len(req.body)
            for beacon_id in req.beacon_ids:
                self._keepalive_ids.add(beacon_id)
            spawn(self._send_keepalive(req), self.tracker, "keepalive send")
        return len(requests)

    async def _send_keepalive(self, req):
        answer = await self._exchange(req, keepalive=True)
        self._keepalive_bytes -= len(req.body)
        for beacon_id in req.beacon_ids:
            self._keepalive_ids.discard(beacon_id)
        acked = self.core.acknowledge(req, answer)
        if acked:
            self._accepted(acked)
            self.kick()

    def hold_until_ks(self, retry=10.0):
        """Send nothing until the KS provider gives a KS; ask again every
        ``retry`` seconds."""
        self.held = True

        def again():
            if self.held and not self.closed:
                spawn(self._retry_ks(retry), self.tracker, "KS retry")

        self.timers.call_later(retry, again)

    async def _retry_ks(self, retry):
        if await self.refresh_ks() is None:
            self.hold_until_ks(retry)

    def close(self):
        self.closed = True
        self.timers.cancel_all()
        if self.coordinator is not None:
            self.coordinator.stop()


def _gather_list(coros, tracker):
    """Start every coroutine now; return awaitables in the same order."""
    if len(coros) <= 1:
        return coros
    return [spawn(c, tracker, "beacon send") for c in coros]
