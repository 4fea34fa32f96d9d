"""Several tabs, one queue: exactly one tab of a namespace sends the backlog.

Every tab of one origin configured for the same partner and user stores its
beacons in the same localStorage namespace (``LocalStorageStore``).  The tab
that holds the *sender role* delivers the whole shared backlog; the others
only enqueue.

- Role: the Web Locks API.  Each tab asks for the exclusive lock
  ``<namespace>:sender`` and waits in the browser's queue; the holder keeps it
  (a promise that never settles) until it stops or the page goes away, and a
  lock of a closed or crashed tab is released by the browser, so the next
  waiting tab gets it.
- Fallback without ``navigator.locks``: a lease ``<namespace>:lease`` =
  ``<tab>:<expiry ms>`` in localStorage, renewed by its holder every
  ``renew`` seconds and taken over by another tab once expired (a closed
  tab's lease lapses after at most ``lease`` seconds; on ``pagehide`` the
  holder removes it at once).  A tab that wrote the lease checks it again a
  moment later before it starts sending (two tabs writing at once: the last
  write wins, the other backs off).
- Sharing: the ``storage`` event fires in the *other* tabs on every change.
  A record added by another tab is adopted by this tab's engine, a record
  removed (accepted or evicted by the sender) is forgotten, so every tab's
  in-memory queue follows the storage.  A tab that becomes the sender re-reads
  the store first (``engine.reload``), which also picks up records left in
  flight by a tab that closed mid-send: they are sent again (the collector, like
  Kaltura, stores the repeat and marks it ``duplicate_of``).

Consent (``consent.py``): a tab without it writes no lease and sends
nothing even with the role; a denial or ``erase()`` in one tab reaches the
others through the ``kaltura_web:signal`` key, which ``PageConsent`` watches.

The callbacks run under the guard (``_guard``); the only failures caught here
are localStorage refusing a lease or housekeeping step (blocked, full): a
``tab-fallback`` diagnostic, and the coordination goes on.  A Web Locks
request that fails rejects its promise (``request`` returns one, so it never
throws): this tab then falls back to the lease.
"""

from ..core import diagnostics as diag
from ..core.validation import GRANTED
from . import _env
from ._convert import is_nullish
from ._proxies import ProxyOwner
from ._runtime import js
from ._timers import Timers
from .storage import STORAGE_ERRORS

LEASE_SECONDS = 5.0
RENEW_SECONDS = 1.5
CONFIRM_SECONDS = 0.2


class TabCoordinator:
    """Makes one tab of ``store``'s namespace the sender.  ``locks``: the Web
    Locks API (default ``navigator.locks`` where the browser has it; False: the
    lease); ``window`` (default the page's) fires ``storage`` and ``pagehide``."""

    def __init__(self, tracker, store, sender, timers=None, locks=None,
                 lease=LEASE_SECONDS, renew=RENEW_SECONDS, window=None):
        self.tracker = tracker
        self.engine = tracker.engine
        self.store = store
        self.sender = sender
        self.timers = timers if timers is not None else Timers(tracker)
        self.locks = locks
        self.window = window
        self.lease = lease
        self.renew = renew
        self.lock_name = store.namespace + ":sender"
        self.lease_key = store.namespace + ":lease"
        self.is_sender = False
        self.mode = None  # "locks" | "lease"
        self.adopted = 0
        self.forgotten = 0
        self.reloads = 0
        self.stopped = False
        self._owner = ProxyOwner(tracker, "tabs")  # listeners and lock callbacks, under the guard
        self._release = None

    def _diag(self, message, code=diag.TAB_FALLBACK, **details):
        self.tracker.diagnose(code, message, details)

    def _storage(self, what, fn, *args):
        """``fn(*args)``; when localStorage refuses (blocked, full), None and a
        ``tab-fallback`` diagnostic saying ``what`` failed."""
        try:
            return fn(*args)
        except STORAGE_ERRORS as exc:
            self._diag(what + " failed", error=repr(exc))
            return None

    # -- start / stop ------------------------------------------------------------
    def start(self):
        """Listen to the other tabs and compete for the sender role; the sender
        sends nothing until this tab holds the role."""
        self.sender.active = False
        self.sender.coordinator = self
        win = self.window if self.window is not None else _env.window()
        self._owner.listen(win, "storage", self._on_storage)
        self._owner.listen(win, "pagehide", self._on_pagehide)
        locks = _env.web_locks() if self.locks is None else self.locks
        if locks is not False and locks is not None:
            self.mode = "locks"
            self._request_lock(locks)
        else:
            self.mode = "lease"
            self._lease_tick()
        return self

    def stop(self):
        """Give the role up (another tab takes over) and remove the listeners."""
        if self.stopped:
            return
        self.stopped = True
        self.is_sender = False
        self.sender.active = False
        release, self._release = self._release, None
        if release is not None:
            release()  # settles the promise the lock waits on: the browser grants it to the next tab
        if self.mode == "lease":
            self._drop_lease()
        self.timers.cancel_all()
        # removes the listeners; the lock callback's proxies had to live until
        # the browser called them, after a stop nothing calls them any more
        self._owner.destroy()

    # -- the role ----------------------------------------------------------------
    def _become_sender(self):
        if self.stopped or self.is_sender:
            return
        self.is_sender = True
        now = self.tracker.clock()
        self.reloads += 1
        self.engine.reload(now)
        if not self.engine.store_failed:  # a storage that failed is not used any more
            self._storage("pruning unused contexts", self.store.prune_contexts)
        self.engine.resume(now)
        self.sender.active = True
        self.sender.kick()

    def _lose_sender(self):
        if not self.is_sender:
            return
        self.is_sender = False
        self.sender.active = False
        self._diag("another tab took over sending", code=diag.TAB_HANDOVER)

    def _request_lock(self, locks):
        owner = self._owner

        def granted(lock):
            if self.stopped:
                return None  # the lock is released at once
            holder = []

            def executor(resolve, reject):
                holder.append(resolve)

            promise = js.Promise.new(owner.proxy(executor))
            self._release = holder[0] if holder else None
            self._become_sender()
            return promise

        def failed(err):
            self._diag("Web Locks request failed; using a storage lease", error=str(err))
            if not self.stopped:
                self.mode = "lease"
                self._lease_tick()

        result = locks.request(self.lock_name, owner.proxy(granted))
        if hasattr(result, "catch"):
            result.catch(owner.proxy(failed))

    # -- lease fallback -------------------------------------------------------------
    def _read_lease(self):
        raw = self.store.read_item(self.lease_key)
        if not raw or ":" not in raw:
            return None, 0.0
        holder, _sep, expiry = raw.rpartition(":")
        try:
            return holder, float(expiry)
        except ValueError:
            return None, 0.0

    def _now_ms(self):
        return _env.now_ms()  # js.Date.now() wraps on MicroPython (int32)

    def _lease_tick(self):
        if self.stopped:
            return
        self.timers.call_later(self.renew, self._lease_tick)
        self._storage("renewing the sender lease", self._lease_step)

    def _lease_step(self):
        """Take the lease when it is ours, missing or expired (and confirm it
        a moment later); give the role up when another tab holds it.  Without
        consent nothing is written: the lease lapses, a consenting tab takes it."""
        if self.tracker.consent != GRANTED:
            return
        holder, expiry = self._read_lease()
        now = self._now_ms()
        if holder == self.store.tab or holder is None or expiry <= now:
            self.store.write_item(self.lease_key, "%s:%d" % (self.store.tab, now + self.lease * 1000))
            if not self.is_sender:
                self.timers.call_later(CONFIRM_SECONDS, self._confirm_lease)
        elif self.is_sender:
            self._lose_sender()

    def _confirm_lease(self):
        if self.stopped:
            return
        lease = self._storage("checking the sender lease", self._read_lease)
        if lease is not None and lease[0] == self.store.tab:
            self._become_sender()

    def _drop_lease(self):
        self._storage("removing the sender lease", self._remove_own_lease)

    def _remove_own_lease(self):
        if self._read_lease()[0] == self.store.tab:
            self.store.remove_item(self.lease_key)

    # -- events ---------------------------------------------------------------------
    def _on_pagehide(self, event):
        if self.mode == "lease" and self.is_sender:
            self._drop_lease()  # the next tab need not wait for the expiry

    def _on_storage(self, event):
        key = event.key
        if is_nullish(key):  # localStorage.clear() in another tab
            self.engine.reload(self.tracker.clock())
            return
        key = str(key)
        if not key.startswith(self.store.namespace + ":"):
            return
        if key == self.lease_key and self.mode == "lease":
            value = event.newValue
            if self.is_sender and not is_nullish(value) and not str(value).startswith(self.store.tab + ":"):
                self._lose_sender()
            elif not self.is_sender and is_nullish(value):  # the holder left: take the lease now
                self._storage("taking the sender lease", self._lease_step)
            return
        change = self.store.observe(key, event.newValue)
        if change is None:
            return
        if change[0] == "add":
            if self.engine.adopt(change[1], self.tracker.clock()):
                self.adopted += 1
                if self.is_sender:
                    self.sender.kick()
        elif self.engine.forget(change[1], change[2]):
            self.forgotten += 1

    def status(self):
        return {"mode": self.mode, "sender": self.is_sender, "tab": self.store.tab,
                "adopted": self.adopted, "forgotten": self.forgotten, "reloads": self.reloads}
