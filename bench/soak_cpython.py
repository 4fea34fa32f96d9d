"""The CPython half of the soak benchmark.

``beacons(count)``: ``SyncSender`` delivers ``count`` beacons through the
local collector (`kaltura-web serve` in a subprocess, so this process holds
only the SDK), ``CHUNK`` at a time (reported, then pumped as 50-call
multirequests), while this process's resident memory (/proc/self/statm),
Python's allocated blocks and what the tracker and sender hold
(bench/soak_walk.py) are sampled.  At the end the collector's file is
counted: every beacon sent must be stored.

``long_session(hours)``: one playback session fed ``timeupdate``-like
progress every 0.25 s of simulated time on a fake clock for ``hours`` hours,
in "both" protocols: a one-hour recording watched again and again (back to
the start a minute before its end: a seek, the same session), with a seek
back 30 s every 10 minutes, a 2-s stall every 20 minutes and a 40-s pause
(past KAVA's 30-s reset) every 45 minutes.  Its requests are answered at
once in Kaltura's shapes by ``Answers``: hours of simulated time cannot wait
for HTTP, and what is measured here is the session's state, not the network.
Sampled every simulated half hour.

Before each sample, garbage is collected and CPython's type attribute cache
emptied (``_settle``), and the samples go to a file, not to a list in this
process (``Samples``): what is measured is what the SDK holds."""

import gc
import json
import os
import random
import sqlite3
import sys
import tempfile
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(BENCH))
sys.path.insert(0, BENCH)

from kaltura_web.core.ports import Response  # noqa: E402
from kaltura_web.core.tracker import Tracker  # noqa: E402
from kaltura_web.cpython.driver import SyncSender  # noqa: E402
from kaltura_web.cpython.transport import UrllibTransport  # noqa: E402

import soak_metrics  # noqa: E402
import soak_walk  # noqa: E402

CHUNK = 1000  # beacons reported before each pump (the default max_queue)
BEACONS_PER_PASS = 8  # a new session id every 8 beacons: what a looping page sends per pass
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
STEP = 0.25  # seconds between progress observations (a browser's timeupdate)


def _log(message):
    print("[soak] " + message, file=sys.stderr, flush=True)


def rss():
    """This process's resident set size in bytes (/proc/self/statm)."""
    fd = os.open("/proc/self/statm", os.O_RDONLY)  # no file object: nothing cached per call
    try:
        text = os.read(fd, 256).decode("ascii")
    finally:
        os.close(fd)
    return soak_metrics.rss_bytes(text, PAGE_SIZE)


def _roots(**objects):
    roots = sorted(objects.items())
    for name in sorted(sys.modules):
        if name.startswith("kaltura_web.core") or name.startswith("kaltura_web.cpython"):
            roots.append(("module " + name, vars(sys.modules[name])))
    return roots


def _settle():
    """Collect garbage and empty CPython's type attribute cache first: that
    cache keeps a reference to the attribute names it saw, up to its 4,096
    slots, and urllib looks methods up by names it builds per request, so
    without this the first few thousand requests look like slow growth that
    levels off (what is left is what the program holds)."""
    clear = getattr(sys, "_clear_internal_caches", None) or getattr(sys, "_clear_type_cache", None)
    if clear is not None:
        clear()
    gc.collect()


class Samples:
    """Samples of this process's memory, written to a file as they are taken
    (one JSON line each) and read back by ``load()``: the benchmark's own
    record stays out of the memory it measures."""

    def __init__(self, path):
        self.path = path
        self._file = open(path, "w", encoding="utf-8")

    def take(self, objects, **extra):
        _settle()
        sample = {"rss": rss(), "blocks": sys.getallocatedblocks()}  # before the walk's own garbage
        sizes = soak_walk.held(_roots(**objects), soak_walk.classes_of())
        sample.update(held=sizes, held_total=soak_walk.total(sizes))
        sample.update(extra)
        self._file.write(json.dumps(sample) + "\n")
        self._file.flush()
        return sample

    def load(self):
        self._file.close()
        with open(self.path, encoding="utf-8") as f:
            return [json.loads(line) for line in f]


def _stored(db):
    conn = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=30)
    try:
        return conn.execute("SELECT COUNT(*), COUNT(duplicate_of) FROM events").fetchone()
    finally:
        conn.close()


def beacons(count, samples=50):
    """Deliver ``count`` beacons through the collector; ``{"samples", "sent",
    "stored", "repeats", "lost", "seconds", "pending"}``."""
    from collector_bench import PARTNER_ID, Collector

    every = max(CHUNK, (count // samples) // CHUNK * CHUNK)
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "soak.db")
        with Collector(db, os.path.join(tmp, "collector.log")) as collector:
            tracker = Tracker(PARTNER_ID, clock=time.time, rng=random.Random(7), ks=collector.ks(),
                              service_url=collector.service_url,
                              analytics_url=collector.service_url[:-len("/api_v3")],
                              application="soak", referrer="https://kiosk.example.com/lobby")
            sender = SyncSender(tracker, UrllibTransport(timeout=30))
            objects = {"tracker": tracker, "sender": sender}
            out = Samples(os.path.join(tmp, "samples.jsonl"))
            t0 = time.monotonic()
            out.take(objects, beacons=0, t=0.0, load=os.getloadavg()[0])
            made = 0
            while made < count:
                n = min(CHUNK, count - made)
                for i in range(made, made + n):
                    tracker.report(3 + i % BEACONS_PER_PASS, "0_soak", session_id="soak-%d" % (i // BEACONS_PER_PASS),
                                   current_point=i % 240, duration=240)
                made += n
                sender.pump()
                if made % every == 0 or made == count:
                    s = out.take(objects, beacons=sender.sent, t=round(time.monotonic() - t0, 2),
                                 load=os.getloadavg()[0])
                    _log("cpython: %d beacons sent, rss=%d blocks=%d held=%d (%.0f s)"
                         % (sender.sent, s["rss"], s["blocks"], s["held_total"], s["t"]))
            seconds = time.monotonic() - t0
            sender.flush(timeout=60)
        stored, repeats = _stored(db)
        samples = out.load()
    return {"samples": samples, "sent": sender.sent, "stored": stored, "repeats": repeats,
            "lost": dict(tracker.lost), "pending": tracker.pending(), "seconds": seconds}


class Answers:
    """A transport answering at once as Kaltura does when all is well: a
    multirequest gets one ``null`` per call, stats.collect ``null``, a KAVA
    trackEvent the server time (``clock()``)."""

    def __init__(self, clock):
        self.clock = clock
        self.requests = 0

    def send(self, request):
        self.requests += 1
        if "service=analytics" in request.url or "trackEvent" in request.url:
            body = "%d" % int(self.clock())
        elif len(request.beacon_ids) > 1:
            body = "[" + ",".join(["null"] * len(request.beacon_ids)) + "]"
        else:
            body = "null"
        return Response(200, {"Content-Type": "application/json"}, body)


SEEK_EVERY = int(10 * 60 / STEP)    # steps: every 10 minutes the viewer seeks back 30 s
STALL_EVERY = int(20 * 60 / STEP)   # a 2-s buffering stall every 20 minutes
PAUSE_EVERY = int(45 * 60 / STEP)   # a 40-s pause every 45 minutes (past KAVA's 30-s reset)
RECORDING = 3600.0  # the recording watched: one hour, from the start again a minute before its end


def _play_for(player, now, state, seconds):
    """``seconds`` of simulated viewing; ``state`` = {"step", "position", "observations"}."""
    end = now[0] + seconds
    while now[0] < end:
        now[0] += STEP
        state["step"] += 1
        step, position = state["step"], state["position"]
        if position >= RECORDING - 60.0:  # near the end the viewer goes back to the start
            position = 0.0
            player.seeking(position)
            player.seeked(position)
        elif step % SEEK_EVERY == 0:
            position = max(0.0, position - 30.0)
            player.seeking(position)
            player.seeked(position)
        elif step % STALL_EVERY == 0:
            player.waiting(position)
            now[0] += 2.0
            player.playing(position)
        elif step % PAUSE_EVERY == 0:
            player.pause(position)
            now[0] += 40.0
            player.tick()
            player.play(position)
        else:
            position += STEP
            player.progress(position)
        state["position"] = position
        state["observations"] += 1


def long_session(hours, sample_minutes=30):
    """One session of ``hours`` simulated hours, sampled every
    ``sample_minutes``; ``{"samples", "observations", "beacons",
    "guide_sessions", "kava_sessions", "seconds", "lost", "diagnostics"}``."""
    now = [1_800_000_000.0]

    def clock():
        return now[0]

    def sleep(seconds):
        now[0] += seconds

    tracker = Tracker(100, clock=clock, rng=random.Random(11), ks="soak", protocol="both",
                      service_url="http://127.0.0.1:9/api_v3", analytics_url="http://127.0.0.1:9")
    sender = SyncSender(tracker, Answers(clock), clock=clock, sleep=sleep)
    player = tracker.player("0_long")
    player.loaded(duration=RECORDING)
    player.play(0.0)
    guide, kava = {player.session.session_id}, {player.kava.session_id}
    state = {"step": 0, "position": 0.0, "observations": 0}
    t0 = time.monotonic()
    objects = {"player": player, "tracker": tracker, "sender": sender}
    tmp = tempfile.TemporaryDirectory()
    out = Samples(os.path.join(tmp.name, "samples.jsonl"))
    out.take(objects, hours=0.0, beacons=0, observations=0)
    for k in range(int(round(hours * 60 / sample_minutes))):
        _play_for(player, now, state, sample_minutes * 60.0)
        sender.pump()
        guide.add(player.session.session_id)
        kava.add(player.kava.session_id)
        out.take(objects, hours=(k + 1) * sample_minutes / 60.0, beacons=sender.sent,
                 observations=state["observations"])
    samples = out.load()
    tmp.cleanup()
    return {"samples": samples, "observations": state["observations"], "beacons": sender.sent,
            "guide_sessions": len(guide), "kava_sessions": len(kava), "seconds": time.monotonic() - t0,
            "lost": dict(tracker.lost), "pending": tracker.pending(),
            "diagnostics": sorted({d["code"] for d in tracker.diagnostics})}
