"""A synchronous sender for servers, kiosks and batch jobs: a thin loop around
the core's ``SenderCore`` that only sends requests and sleeps."""

import os
import random
import time

from ..core.ports import raised
from ..core.tracker import Tracker
from .store import SQLiteStore
from .transport import UrllibTransport


class SyncSender:
    """Sends a tracker's queue with a blocking transport (``ports.Transport``).

    ``clock``/``sleep`` are injected so tests run the real schedule on a fake
    clock without sleeping.  ``log`` receives one line per notable step (a KS
    appears only masked).  ``sent`` counts the beacons accepted."""

    def __init__(self, tracker, transport=None, clock=None, sleep=None, log=None):
        self.tracker = tracker
        self.core = tracker.sender_core
        self.transport = transport if transport is not None else UrllibTransport()
        self.clock = clock if clock is not None else tracker.clock
        self.sleep = sleep if sleep is not None else time.sleep
        self.log = log
        self.sent = 0

    def _log(self, line):
        if self.log is not None and line:
            self.log(line)

    def pump(self):
        """Send whatever is due now, until nothing more is; returns the number of answers."""
        answers = 0
        while True:
            requests = self.core.due(self.clock())
            if not requests:
                return answers
            for req in requests:
                try:
                    answer = self.transport.send(req)
                except Exception as exc:  # a custom transport should return it; the batch must not stick
                    answer = raised(exc)
                step = self.core.receive(req, answer, self.clock())
                answers += 1
                self.sent += step.accepted
                self._log(step.note)
                if step.ask_ks:
                    self._refresh_ks()

    def _refresh_ks(self):
        """Ask the tracker's KS provider for a KS and use it (the core said so)."""
        try:
            answer = self.core.ks_provider()
        except Exception as exc:
            self._log("KS provider failed: %r" % (exc,))
            return
        self._log(self.core.take_ks(answer)[1])

    def flush(self, timeout=30.0, on_progress=None):
        """Deliver everything, waiting out retries, for at most ``timeout``
        seconds.  True when the queue is empty.  ``on_progress(pending)`` is
        called after each round of sends."""
        deadline = self.clock() + timeout
        while True:
            self.pump()
            if on_progress is not None:
                on_progress(self.tracker.pending())
            if self.tracker.pending() == 0:
                return True
            wake = self.core.next_wakeup()
            now = self.clock()
            if wake is None or wake > deadline:
                return False
            self.sleep(max(0.0, wake - now))


def create_tracker(partner_id, queue_path=None, **options):
    """A Tracker with real clock and randomness and, with ``queue_path`` (a
    str or os.PathLike), a durable SQLite queue; pass it to ``SyncSender``
    to deliver."""
    store = None
    if queue_path is not None:
        if not isinstance(queue_path, (str, os.PathLike)):
            raise TypeError("queue_path must be a str or os.PathLike, got %s" % type(queue_path).__name__)
        path = os.fspath(queue_path)
        if type(path) is not str:
            raise TypeError("queue_path must name a file as text, got %s" % type(path).__name__)
        if not path:
            raise ValueError("queue_path is empty: give a file path, or None for a memory queue")
        store = SQLiteStore(path)
    rng = random.Random(int.from_bytes(os.urandom(16), "big"))
    try:
        return Tracker(partner_id, clock=time.time, rng=rng, store=store, **options)
    except BaseException:
        if store is not None:
            store.close()  # a wrong argument leaves no open database behind
        raise
