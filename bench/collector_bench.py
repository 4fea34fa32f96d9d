"""Load and fault figures of the local collector (`kaltura-web serve`), run as a
real subprocess on 127.0.0.1 with a temporary SQLite file.

1. single stats.collect requests from N concurrent keep-alive clients;
2. 50-call multirequests from the same N clients;
3. kill -9 under load: half the clients send single requests, half send
   multirequests; the collector is SIGKILLed mid-stream, then the SQLite file
   is opened read-only and every acknowledged event is looked up in it.

An event counts as acknowledged when its answer is a success by Kaltura's rules
(HTTP 200 and no KalturaAPIException, slot by slot for a multirequest), judged
by the SDK's own ``classify_batch``.  Every event carries a unique beacon id.

Durations are set by environment variables (defaults keep the whole section
around 30 s on 2 cores): BENCH_COLLECTOR_CLIENTS (50), BENCH_COLLECTOR_SECONDS
(8, per load phase), BENCH_COLLECTOR_KILL_AFTER (4, seconds of load before the
kill).  Standalone: ``.venv/bin/python bench/collector_bench.py``.
"""

import http.client
import math
import os
import pathlib
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from kaltura_web.collector.ks import make_ks_v2  # noqa: E402
from kaltura_web.core.encoding import ACCEPTED, classify_batch, encode, encode_batch, stats_record  # noqa: E402

HOST = "127.0.0.1"
PARTNER_ID = 100
BATCH = 50
START_TIMEOUT = 20.0      # seconds for the collector to answer after launch
REQUEST_TIMEOUT = 10.0    # seconds per HTTP request
MAX_ERRORS_IN_A_ROW = 3   # a client gives up after this many failed requests in a row
MAX_REQUESTS = 200000     # per client and phase: a bound even if the clock misbehaves


def _env_number(name, default, kind=float):
    value = kind(os.environ.get(name, default))
    if not (value > 0 and math.isfinite(value)):
        raise ValueError("%s must be a finite positive number, not %r" % (name, value))
    return value


def settings():
    return {"clients": _env_number("BENCH_COLLECTOR_CLIENTS", 50, int),
            "seconds": _env_number("BENCH_COLLECTOR_SECONDS", 8.0),
            "kill_after": _env_number("BENCH_COLLECTOR_KILL_AFTER", 4.0)}


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _serve_command():
    script = os.path.join(os.path.dirname(sys.executable), "kaltura-web")
    if os.path.exists(script):
        return [script, "serve"]
    return [sys.executable, "-m", "kaltura_web.collector", "serve"]


class Collector:
    """`kaltura-web serve` as a subprocess; a context manager that always ends it."""

    def __init__(self, db, log_path):
        self.db = db
        self.port = _free_port()
        self.secret = "bench-" + os.urandom(8).hex()
        self.service_url = "http://%s:%d/api_v3" % (HOST, self.port)
        self._log_path = log_path
        self._log = None
        self.proc = None

    def __enter__(self):
        self._log = open(self._log_path, "ab")
        self.proc = subprocess.Popen(
            _serve_command() + ["--host", HOST, "--port", str(self.port), "--db", self.db,
                                "--partner-id", str(PARTNER_ID), "--admin-secret", self.secret,
                                "--quiet"],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT)
        try:
            self._wait_until_answering()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _wait_until_answering(self):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("the collector exited with status %s at start:\n%s"
                                   % (self.proc.returncode, self.log_tail()))
            conn = http.client.HTTPConnection(HOST, self.port, timeout=2)
            try:
                conn.request("GET", "/api_v3/service/stats/action/collect?format=1")
                conn.getresponse().read()
                return
            except (OSError, http.client.HTTPException):
                time.sleep(0.1)
            finally:
                conn.close()
        raise RuntimeError("the collector did not answer on %s:%d within %.0f s:\n%s"
                           % (HOST, self.port, START_TIMEOUT, self.log_tail()))

    def log_tail(self, lines=20):
        self._log.flush()
        with open(self._log_path, "rb") as f:
            return "\n".join(f.read().decode("utf-8", "replace").splitlines()[-lines:])

    def ks(self):
        return make_ks_v2(PARTNER_ID, self.secret, "bench@example.com", 0, int(time.time()) + 3600,
                          {"appId": "bench"})

    def kill(self):
        """SIGKILL: no shutdown handler, no final commit, nothing flushed."""
        self.proc.kill()
        self.proc.wait(timeout=10)

    def __exit__(self, *exc):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self._log is not None:
            self._log.close()


class Client(threading.Thread):
    """One keep-alive connection sending requests of ``batch`` events until the
    deadline, ``stop`` is set, or MAX_ERRORS_IN_A_ROW requests fail in a row."""

    def __init__(self, collector, name, batch, deadline, stop):
        super().__init__(name=name, daemon=True)
        self.collector = collector
        self.batch = batch
        self.deadline = deadline
        self.stop = stop
        self.latencies = []   # seconds per answered request
        self.acked = []       # beacon ids whose answer was a success
        self.failed = 0       # requests without an answer, or with a failed slot
        self.crashed = None   # an unexpected exception, reported by the phase

    def _request(self, number, ks):
        t = int(time.time())
        records = [stats_record("%s-%d-%d" % (self.name, number, i), 3, PARTNER_ID, "0_bench",
                                "%s-%d" % (self.name, number), t)
                   for i in range(self.batch)]
        url = self.collector.service_url
        req = encode(records[0], ks, url, url) if self.batch == 1 else encode_batch(records, ks, url)
        if len(req.beacon_ids) != self.batch:
            raise RuntimeError("a multirequest of %d calls did not fit one request" % self.batch)
        return req, req.url[len("http://%s:%d" % (HOST, self.collector.port)):]

    def run(self):
        try:
            self._run()
        except Exception as err:  # a bench bug must not hang the phase; reported by it
            self.crashed = err

    def _run(self):
        ks = self.collector.ks()
        conn = http.client.HTTPConnection(HOST, self.collector.port, timeout=REQUEST_TIMEOUT)
        errors_in_a_row = 0
        number = 0
        try:
            while (number < MAX_REQUESTS and errors_in_a_row < MAX_ERRORS_IN_A_ROW
                   and not self.stop.is_set() and time.monotonic() < self.deadline):
                number += 1
                req, path = self._request(number, ks)
                start = time.perf_counter()
                try:
                    conn.request("POST", path, req.body, req.headers)
                    answer = conn.getresponse()
                    status, body = answer.status, answer.read().decode("utf-8", "replace")
                except (OSError, http.client.HTTPException):
                    conn.close()
                    self.failed += 1
                    errors_in_a_row += 1
                    continue
                self.latencies.append(time.perf_counter() - start)
                errors_in_a_row = 0
                outcomes = classify_batch(status, body, len(req.beacon_ids))
                accepted = [b for b, (o, _) in zip(req.beacon_ids, outcomes) if o == ACCEPTED]
                self.acked.extend(accepted)
                if len(accepted) != len(req.beacon_ids):
                    self.failed += 1
        finally:
            conn.close()


def _run_clients(collector, phase, clients, seconds, batch_of, kill_after=None):
    """Start the clients (named after ``phase``: beacon ids never repeat across
    phases), optionally SIGKILL the collector after ``kill_after``
    seconds, and wait for all of them; returns (clients, wall seconds)."""
    stop = threading.Event()
    deadline = time.monotonic() + seconds
    threads = [Client(collector, "%s%d" % (phase, n), batch_of(n), deadline, stop) for n in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    try:
        if kill_after is not None:
            time.sleep(kill_after)
            collector.kill()
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()) + REQUEST_TIMEOUT * 2)
    finally:
        stop.set()
    wall = time.perf_counter() - start
    if any(t.is_alive() for t in threads):
        raise RuntimeError("a client did not stop in time")
    for thread in threads:
        if thread.crashed is not None:
            raise RuntimeError("client %s failed: %r" % (thread.name, thread.crashed))
    return threads, wall


def _percentile(sorted_values, fraction):
    """Nearest-rank percentile of an ascending list (None when empty)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def _ms(seconds):
    return None if seconds is None else seconds * 1000


def _stored(db):
    """(beacon ids of stored stats events, PRAGMA integrity_check answer), read-only."""
    conn = sqlite3.connect(pathlib.Path(db).as_uri() + "?mode=ro", uri=True)
    try:
        integrity = "; ".join(row[0] for row in conn.execute("PRAGMA integrity_check"))
        ids = {row[0] for row in conn.execute(
            "SELECT beacon_id FROM events WHERE service = 'stats'")}
    finally:
        conn.close()
    return ids, integrity


def _load_phase(collector, clients, seconds, batch):
    before, _ = _stored(collector.db)
    threads, wall = _run_clients(collector, "load%d-" % batch, clients, seconds, lambda n: batch)
    latencies = sorted(x for t in threads for x in t.latencies)
    acked = {b for t in threads for b in t.acked}
    stored, integrity = _stored(collector.db)
    return {"clients": clients, "batch": batch, "seconds": wall, "requests": len(latencies),
            "requests_per_s": len(latencies) / wall, "events_per_s": len(acked) / wall,
            "p50_ms": _ms(_percentile(latencies, 0.50)), "p99_ms": _ms(_percentile(latencies, 0.99)),
            "failed": sum(t.failed for t in threads), "acknowledged": len(acked),
            "stored": len(stored - before), "missing": len(acked - stored), "integrity": integrity}


def _kill_phase(collector, clients, kill_after):
    threads, _ = _run_clients(collector, "kill-", clients, kill_after + REQUEST_TIMEOUT,
                              lambda n: 1 if n % 2 == 0 else BATCH, kill_after=kill_after)
    acked = {b for t in threads for b in t.acked}
    stored, integrity = _stored(collector.db)
    return {"clients": clients, "kill_after_s": kill_after, "acknowledged": len(acked),
            "stored": len(stored), "missing": len(acked - stored),
            "stored_unacknowledged": len(stored - acked), "integrity": integrity}


def measure(config=None):
    """The collector figures as a dict (``ok``: nothing acknowledged went missing)."""
    config = config or settings()
    tmp = tempfile.mkdtemp(prefix="kw-collector-bench-")
    try:
        with Collector(os.path.join(tmp, "load.db"), os.path.join(tmp, "load.log")) as collector:
            single = _load_phase(collector, config["clients"], config["seconds"], 1)
            multi = _load_phase(collector, config["clients"], config["seconds"], BATCH)
        with Collector(os.path.join(tmp, "kill.db"), os.path.join(tmp, "kill.log")) as collector:
            kill = _kill_phase(collector, config["clients"], config["kill_after"])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    ok = all(r["missing"] == 0 and r["integrity"] == "ok" for r in (single, multi, kill))
    return {"single": single, "multirequest": multi, "kill9": kill, "ok": ok}


def rows(results=None):
    """Table rows (measurement, result) of ``measure()``'s figures."""
    r = results or measure()
    out = []
    for key, what in (("single", "single stats.collect"),
                      ("multirequest", "%d-call multirequests" % BATCH)):
        p = r[key]
        out.append(("collector, %d clients, %s: throughput" % (p["clients"], what),
                    "%.0f requests/s, %.0f events/s (%d requests in %.1f s)"
                    % (p["requests_per_s"], p["events_per_s"], p["requests"], p["seconds"])))
        out.append(("collector, %d clients, %s: latency p50 / p99" % (p["clients"], what),
                    "%.1f / %.1f ms" % (p["p50_ms"] or 0, p["p99_ms"] or 0)))
        out.append(("collector, %d clients, %s: acknowledged / stored" % (p["clients"], what),
                    "%d / %d, %d missing, %d failed requests, integrity %s"
                    % (p["acknowledged"], p["stored"], p["missing"], p["failed"], p["integrity"])))
    k = r["kill9"]
    out.append(("collector kill -9 after %.0f s of load (%d clients, single + multirequest)"
                % (k["kill_after_s"], k["clients"]),
                "%d acknowledged, %d stored (%d whose answer the kill cut off), "
                "%d acknowledged but missing, integrity %s"
                % (k["acknowledged"], k["stored"], k["stored_unacknowledged"], k["missing"],
                   k["integrity"])))
    return out


def main():
    import run

    return run.main(["--collector-only"])


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    sys.exit(main())
