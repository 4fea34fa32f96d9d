"""CPython benchmarks of the pure core: observation cost and queue cost as it grows."""

import random
import time

from kaltura_web import MemoryStore, Tracker
from kaltura_web.cpython import SQLiteStore


def _tracker(store=None, max_queue=20000):
    clock = [1_700_000_000.0]
    return Tracker(100, clock=lambda: clock[0], rng=random.Random(1), ks="ks",
                   service_url="http://127.0.0.1:1/api_v3", analytics_url="http://127.0.0.1:1",
                   referrer="https://portal.example.com/events/keynote-2025?ref=lobby",
                   store=store, max_queue=max_queue, batch_size=1), clock


def observation_us(n=20000):
    """Microseconds per timeupdate observation (no quartile crossed)."""
    tracker, clock = _tracker()
    player = tracker.player("1_bench")
    player.loaded(10.0 ** 6)
    player.play(0.0)
    start = time.perf_counter()
    pos = 0.0
    for _ in range(n):
        clock[0] += 0.25
        pos += 0.25
        player.progress(pos)
    return (time.perf_counter() - start) / n * 1e6


def queue_us(depth, store_factory, rounds=200):
    """(enqueue us, acknowledge us) with ``depth`` beacons already queued."""
    tracker, clock = _tracker(store_factory())
    for i in range(depth):
        tracker.report(3, "1_bench", session_id="s")
    enq = ack = 0.0
    for _ in range(rounds):
        t = time.perf_counter()
        tracker.report(3, "1_bench", session_id="s")
        enq += time.perf_counter() - t
        (req,) = tracker.due_requests()
        t = time.perf_counter()
        tracker.handle_response(req, 200, "null")
        ack += time.perf_counter() - t
    return enq / rounds * 1e6, ack / rounds * 1e6


def rows(tmpdir):
    out = [("CPython: timeupdate observation into the core", "%.1f us" % observation_us())]
    counter = [0]

    def sqlite():
        counter[0] += 1
        return SQLiteStore("%s/bench-%d.db" % (tmpdir, counter[0]))

    for name, factory in (("memory", MemoryStore), ("SQLite", sqlite)):
        for depth in (10, 1000, 10000):
            enq, ack = queue_us(depth, factory, rounds=200 if name == "memory" else 50)
            out.append(("CPython %s queue at %d: enqueue / acknowledge" % (name, depth),
                        "%.1f / %.1f us" % (enq, ack)))
    return out
