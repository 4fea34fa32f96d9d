"""Python that runs later: ``setTimeout`` timers and tasks on the page's loop.

A timer's callback is a once-callable (``ProxyOwner.once``): it releases its
proxy itself when it runs; ``cancel`` releases it uncalled.  Tasks
(``spawn``) run under ``_guard.guard_task``.

========================  ===============================  ==========================================
                          Pyodide                          MicroPython 1.28
========================  ===============================  ==========================================
spawning                  ``asyncio.ensure_future``        ``asyncio.create_task`` only
eager start (``eagerly``) ``asyncio.Task(eager_start=)``   no eager tasks: the first step by hand
========================  ===============================  ==========================================
"""

import asyncio
import sys

from ._guard import guard_task
from ._proxies import ProxyOwner
from ._runtime import IS_MICROPYTHON, js, need_browser


class Timers:
    """``setTimeout`` with owned once-callables; ``cancel_all()`` clears the rest.

    ``host`` has ``setTimeout``/``clearTimeout`` (default: the page's)."""

    def __init__(self, tracker=None, host=None):
        self._owner = ProxyOwner(tracker, "timer")
        self._host = host
        self._pending = {}  # timer id -> Proxy

    def _timers_host(self):
        if self._host is None:
            need_browser()
            return js
        return self._host

    def call_later(self, seconds, fn):
        """Run ``fn()`` after ``seconds``; returns an id for ``cancel``."""
        host = self._timers_host()
        box = []

        def fire(*_):
            self._pending.pop(box[0], None)
            fn()

        proxy = self._owner.once(fire)
        tid = host.setTimeout(proxy.function, max(0, int(seconds * 1000)))
        box.append(tid)
        self._pending[tid] = proxy
        return tid

    def cancel(self, tid):
        proxy = self._pending.pop(tid, None)
        if proxy is not None:
            self._timers_host().clearTimeout(tid)
            proxy.release()

    def cancel_all(self):
        for tid in list(self._pending):
            self.cancel(tid)

    def __len__(self):
        return len(self._pending)


_eager = [0]


def spawn(coro, tracker=None, where="task"):
    """Run a coroutine on the page's event loop without waiting for it; an
    exception is reported to ``tracker`` (``_guard``).

    Inside ``eagerly()`` (the page is being hidden or unloaded) the coroutine
    runs up to its first ``await`` before this returns, so a
    ``fetch(..., {keepalive: true})`` is on its way even if no timer of this
    page ever runs again; otherwise it starts on the next turn of the loop."""
    task = guard_task(coro, tracker, where)
    if _eager[0]:
        return _spawn_now(task)
    return _spawn(task)


if IS_MICROPYTHON:
    _spawn = asyncio.create_task

    def _spawn_now(coro):
        # No eager tasks: take the first step by hand.  The rest (reading the
        # answer) is dropped: the page is going away, and a record that was in
        # fact accepted is sent again on the next load (a duplicate in
        # Kaltura's reports: see docs/storage.md, "Limits").
        try:
            coro.send(None)
        except StopIteration:
            pass
        return None

elif sys.version_info >= (3, 12):
    _spawn = asyncio.ensure_future

    def _spawn_now(coro):
        # the first step runs inside the constructor
        return asyncio.Task(coro, loop=asyncio.get_event_loop(), eager_start=True)

else:
    _spawn = asyncio.ensure_future
    _spawn_now = asyncio.ensure_future


class eagerly:
    """``with eagerly(): sender.flush_keepalive()``: spawns inside start now."""

    def __enter__(self):
        _eager[0] += 1
        return self

    def __exit__(self, *exc):
        _eager[0] -= 1
        return False
