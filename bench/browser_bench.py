"""Browser benchmarks, side by side in one headless Chromium run against the
local collector (``measure()``; bench/run.py prints and records them):

- cold starts of each page in ``metrics.PAGES`` (the SDK pages, their runtime
  floors and the JavaScript baseline), interleaved run by run: time to
  ``kaltura-web:ready``, bytes, the start timeline (PyScript's progress events,
  the SDK's performance marks, Resource Timing), then the video played to its
  end; long tasks (PerformanceObserver "longtask") during start and playback;
- the cost of one ``timeupdate`` on the tracked element while it plays, with the
  SDK's timeupdate gate and without it (page configuration "timeupdateGate");
- the Pyodide localStorage queue at 10 / 1,000 / 10,000 beacons and a 10,000-
  beacon backlog delivered after reconnecting."""

import os
import re
import sys
import tempfile
import time

from playwright.sync_api import sync_playwright

import bench_metrics as metrics
from conftest import CHROMIUM, CHROMIUM_FLAGS
from kaltura_web.collector.server import CollectorServer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Installed before any page script: records when PyScript hands over to the page script, its
# progress events, kaltura-web:ready, and every long task from the start of the document.
PROBE = """(() => {
  const b = window.__kwBench = {at: {}, progress: [], longtasks: []};
  const once = (k) => { if (!(k in b.at)) b.at[k] = performance.now(); };
  addEventListener('kaltura-web:ready', () => once('ready'));
  addEventListener('kaltura-web:error', (e) => { b.failed = JSON.stringify(e.detail || null); });
  for (const p of ['py', 'mpy']) {
    addEventListener(p + ':ready', () => once('script'), true);
    addEventListener(p + ':progress', (e) => b.progress.push([String(e.detail), performance.now()]));
  }
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) b.longtasks.push([e.startTime, e.duration]);
    }).observe({type: 'longtask', buffered: true});
  } catch (e) { b.longtaskError = String(e); }
})();"""
# what the page recorded, its performance marks and resources, and the bytes of every response
# body it fetched (no compression on localhost)
SNAPSHOT = """() => {
  const b = window.__kwBench;
  const resources = performance.getEntriesByType('resource').map((e) => ({
    name: e.name.replace(location.origin, ''), startTime: e.startTime, responseEnd: e.responseEnd,
    encodedBodySize: e.encodedBodySize || 0}));
  const nav = performance.getEntriesByType('navigation').reduce((n, e) => n + (e.encodedBodySize || 0), 0);
  return {at: b.at, progress: b.progress, longtaskError: b.longtaskError || null,
          marks: performance.getEntriesByType('mark').map((m) => [m.name, m.startTime]),
          resources, bytes: nav + resources.reduce((n, e) => n + e.encodedBodySize, 0)};
}"""
# plays the page's video to its end: [performance.now() at play(), at 'ended']
PLAY = """async () => {
  const v = document.querySelector('video');
  const t0 = performance.now();
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the video did not end within 60 s')), 60000);
    v.addEventListener('ended', () => { clearTimeout(timer); resolve(); }, {once: true});
    v.play().catch(reject);
  });
  return [t0, performance.now()];
}"""
LONGTASKS = "() => window.__kwBench.longtasks"
TIMEUPDATES = """async ([n, rounds]) => {
  // While the tracked video plays (the common case: a timeupdate with no news): median of
  // `rounds` rounds, each n timeupdate events dispatched on the tracked element, minus the same
  // on a bare element (the DOM's own dispatch cost), after one warm-up round of each.
  const v = document.querySelector('video[data-kaltura-entry-id]');
  const bare = document.createElement('video');
  await v.play();
  const deadline = performance.now() + 10000;
  while (!(v.currentTime > 0.05) && performance.now() < deadline)
    await new Promise((r) => setTimeout(r, 10));
  const round = (el, k) => { const t0 = performance.now();
    for (let i = 0; i < k; i++) el.dispatchEvent(new Event('timeupdate'));
    return (performance.now() - t0) / k * 1000; };
  round(bare, n / 5); round(v, n / 5);
  // the SDK's timeupdate gate, when the element has one, counts what it forwarded to Python
  const g = v[Symbol.for('kaltura_web:gate')];
  const seen = g ? g.seen : 0, forwarded = g ? g.forwarded : 0;
  const full = [], net = [];
  for (let r = 0; r < rounds; r++) { const b = round(bare, n); const f = round(v, n); full.push(f); net.push(f - b); }
  const gate = g ? {seen: g.seen - seen, forwarded: g.forwarded - forwarded} : null;
  const ended = v.ended;
  v.pause();
  const med = (xs) => xs.slice().sort((a, b) => a - b)[(xs.length - 1) >> 1];
  return {full: med(full), net: med(net), ended, gate};
}"""
READY_TIMEOUT_MS = 120_000  # a Pyodide page on a busy 2-core machine has taken 10 s
# the page's configuration tag, where the ungated run adds "timeupdateGate": false
CONFIG_TAG = re.compile(r'id="kaltura-web-config">\s*\{')


def _log(message):
    print("[bench] " + message, file=sys.stderr, flush=True)


def _open(ctx, url):
    """A new page of ``ctx`` at ``url`` with the probe, once it is ready (and the network idle);
    a RuntimeError with the page's errors when it fails to start."""
    page = ctx.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.add_init_script(PROBE)
    page.goto(url)
    try:
        page.wait_for_function("window.__kwBench.at.ready !== undefined || window.__kwBench.failed",
                               timeout=READY_TIMEOUT_MS)
    except Exception as exc:
        raise RuntimeError("%s was not ready within %d s: %s" % (
            url, READY_TIMEOUT_MS // 1000, "; ".join(errors[-5:]) or exc)) from None
    failed = page.evaluate("window.__kwBench.failed || null")
    if failed:
        raise RuntimeError("%s could not start the SDK: %s %s" % (url, failed, "; ".join(errors[-5:])))
    page.wait_for_load_state("networkidle")
    return page


def cold_run(browser, base, key, path, play=True):
    """One cold start of ``path`` in a fresh context (no cache), then (``play``) its video
    played to the end: ready, bytes, landmarks, total blocking time during each."""
    ctx = browser.new_context()
    try:
        page = _open(ctx, base + path)
        snap = page.evaluate(SNAPSHOT)
        window = page.evaluate(PLAY) if play else None
        tasks = page.evaluate(LONGTASKS)
    finally:
        ctx.close()
    if snap["longtaskError"]:
        raise RuntimeError("long tasks cannot be observed: %s" % snap["longtaskError"])
    play_start = window[0] if window else None
    run = {"ready_ms": snap["at"]["ready"], "bytes": snap["bytes"],
           "landmarks": metrics.landmarks(snap, metrics.RUNTIME[key]),
           "resources": {r["name"].split("?")[0]: r["encodedBodySize"] for r in snap["resources"]},
           "tbt_start_ms": metrics.total_blocking_time(tasks, None, play_start),
           "tbt_playback_ms": None, "longtasks": tasks}
    if window:
        run["tbt_playback_ms"] = metrics.total_blocking_time(tasks, window[0], window[1])
    return run


def _ungate(route):
    response = route.fetch()
    body, count = CONFIG_TAG.subn(lambda m: m.group(0) + ' "timeupdateGate": false,', response.text(), 1)
    if not count:
        raise RuntimeError("no #kaltura-web-config tag in %s" % route.request.url)
    route.fulfill(response=response, body=body)


def per_event(browser, base, path, gate=True, n=500, rounds=9):
    """Per-timeupdate cost on ``path`` (microseconds): ``{"net", "full", "ended", "gate"}``
    (``gate``: what the SDK's gate saw and forwarded, None without one); ``gate=False`` serves the page with "timeupdateGate": false in its configuration."""
    ctx = browser.new_context()
    try:
        if not gate:
            ctx.route(base + path, _ungate)
        return _open(ctx, base + path).evaluate(TIMEUPDATES, [n, rounds])
    finally:
        ctx.close()


QUEUE_BENCH = """
import random, time
from js import localStorage, performance
from kaltura_web import Tracker
from kaltura_web.browser import LocalStorageStore

def queue_bench(depth, rounds):
    localStorage.clear()
    store = LocalStorageStore(100, "bench")
    tracker = Tracker(100, clock=time.time, rng=random.Random(depth), store=store, max_queue=depth + rounds + 10,
                      batch_size=1, service_url="http://127.0.0.1/api_v3", analytics_url="http://127.0.0.1",
                      referrer="https://portal.example.com/events/keynote-2025/session-room?ref=lobby",
                      uiconf_id=23448, client_ver="kaltura_web:0.1.0")
    tracker.set_online(False)
    for i in range(depth):
        tracker.report(3, "0_bench", session_id="s-bench", current_point=i, duration=3600)
    t0 = performance.now()
    for i in range(rounds):
        tracker.report(3, "0_bench", session_id="s-bench", current_point=i, duration=3600)
    enqueue = (performance.now() - t0) / rounds * 1000
    chars = 0
    for i in range(localStorage.length):
        key = localStorage.key(i)
        chars += len(key) + len(localStorage.getItem(key))
    per_beacon = chars / (depth + rounds)
    tracker.set_online(True)
    t0 = performance.now()
    for i in range(rounds):
        (req,) = tracker.due_requests()
        tracker.handle_response(req, 200, "null")
    ack = (performance.now() - t0) / rounds * 1000
    localStorage.clear()
    return [enqueue, ack, per_beacon]
"""



def queue_costs(browser, base, depths=(10, 1000, 10000), rounds=100):
    ctx = browser.new_context()
    page = ctx.new_page()
    page.goto(base + "/web/pyodide.html?manual=1")
    page.wait_for_function("window.pyodide !== undefined", timeout=120_000)
    page.evaluate("src => window.pyodide.runPython(src)", QUEUE_BENCH)
    out = {}
    for depth in depths:
        out[depth] = page.evaluate(
            "([d, r]) => window.pyodide.globals.get('queue_bench')(d, r).toJs()", [depth, rounds])
    ctx.close()
    return out


def backlog(browser, server, count=10000):
    """Seconds from reconnecting until ``count`` queued beacons are stored, and
    whether they arrived in order."""
    ctx = browser.new_context()
    page = ctx.new_page()
    page.goto(server.base_url + "/web/pyodide.html?manual=1")
    page.wait_for_function("window.pyodide !== undefined", timeout=120_000)
    page.evaluate("""async (n) => {
      localStorage.clear();
      await window.pyodide.runPythonAsync(`
from kaltura_web.browser import start
rt = await start({"maxQueue": ${n} + 100, "storageBudget": 4500000, "pageLoad": False, "instrument": False})
`);
    }""", count)
    ctx.set_offline(True)
    page.evaluate("""(n) => window.pyodide.runPython(`
from kaltura_web.browser import current
t = current().tracker
for i in range(${n}):
    t.report(3, "0_backlog", session_id="backlog", current_point=i)
`)""", count)
    before = server.store.count()
    start = time.perf_counter()
    ctx.set_offline(False)
    deadline = start + 300
    while server.store.count() - before < count and time.perf_counter() < deadline:
        time.sleep(0.05)
    elapsed = time.perf_counter() - start
    stored = [e for e in server.store.events(session_id="backlog")]
    in_order = [e["fields"].get("currentPoint") for e in stored] == [str(i) for i in range(count)] or \
        [int(e["fields"].get("currentPoint")) for e in stored] == list(range(count))
    ctx.close()
    return elapsed, len(stored), in_order



def _package_version(name):
    import json

    try:
        with open(os.path.join(ROOT, "web", "node_modules", name, "package.json")) as f:
            return json.load(f).get("version")
    except OSError:
        return None


def _summarize(runs):
    """Medians of one page's cold runs (and the runs themselves, rounded)."""
    tbt = [None if r["tbt_playback_ms"] is None else r["tbt_start_ms"] + r["tbt_playback_ms"]
           for r in runs]
    return {
        "ready_ms": metrics.median([r["ready_ms"] for r in runs]),
        "bytes": metrics.median([r["bytes"] for r in runs]),
        "tbt_ms": metrics.median(tbt),
        "tbt_start_ms": metrics.median([r["tbt_start_ms"] for r in runs]),
        "tbt_playback_ms": metrics.median([r["tbt_playback_ms"] for r in runs]),
        "timeline": metrics.timeline([r["landmarks"] for r in runs]),
        "resources": runs[0]["resources"],
        "per_run": {"ready_ms": [round(r["ready_ms"], 1) for r in runs],
                    "bytes": [r["bytes"] for r in runs],
                    "tbt_ms": [None if t is None else round(t, 1) for t in tbt]},
    }


def measure(runs=5, pages=metrics.PAGES):
    """Everything the browser section measures, as the results.json entries it fills."""
    load = os.getloadavg()[0]  # how busy the machine was: other work skews the absolute times
    with tempfile.TemporaryDirectory() as tmp, CollectorServer(db=tmp + "/bench.db") as server, \
            sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        base = server.base_url
        cold = {key: [] for key, _, _ in pages}
        for i in range(runs):
            # forward, then backward: no page always follows the same one (a closing Pyodide
            # context still costs the next page some CPU on a 2-core machine)
            for key, _, path in (pages if i % 2 == 0 else pages[::-1]):
                _log("cold start %d/%d: %s" % (i + 1, runs, path))
                cold[key].append(cold_run(browser, base, key, path))
        paths = {key: path for key, _, path in pages}
        events, ungated = {}, {}
        for key in ("mpy", "pyodide", "js"):
            _log("timeupdate cost, gated: %s" % paths[key])
            events[key] = per_event(browser, base, paths[key])
        for key in ("mpy", "pyodide"):
            _log("timeupdate cost, ungated: %s" % paths[key])
            ungated[key] = per_event(browser, base, paths[key], gate=False)
        _log("localStorage queue costs (Pyodide)")
        queue = queue_costs(browser, base)
        _log("10,000-beacon backlog (Pyodide)")
        elapsed, stored, in_order = backlog(browser, server)
        version = browser.version
        browser.close()
    pages_out = {key: _summarize(cold[key]) for key in cold}
    for key, floor in (("mpy", "mpy_floor"), ("pyodide", "pyodide_floor")):
        if key in pages_out and floor in pages_out:
            page, base_res = pages_out[key]["resources"], pages_out[floor]["resources"]
            pages_out[key]["beyond_floor"] = sorted(
                ([name, size] for name, size in page.items() if name not in base_res),
                key=lambda item: -item[1])
    for summary in pages_out.values():
        del summary["resources"]
    ended = [key for key, e in list(events.items()) + list(ungated.items()) if e["ended"]]
    if ended:
        _log("WARNING: the video ended during the timeupdate rounds on %s" % ", ".join(ended))
    for key, e in ungated.items():
        if e["gate"] is not None:
            _log("WARNING: %s kept its timeupdate gate with \"timeupdateGate\": false" % key)
    return {
        "machine": {"cores": os.cpu_count(), "chromium": version, "platform": sys.platform,
                    "load_average": load,
                    "pyscript": _package_version("@pyscript/core"),
                    "pyodide": _package_version("pyodide"),
                    "micropython": _package_version("@micropython/micropython-webassembly-pyscript")},
        "runs": runs,
        "ready_ms": {key: s["ready_ms"] for key, s in pages_out.items()},
        "bytes": {key: s["bytes"] for key, s in pages_out.items()},
        "tbt_ms": {key: s["tbt_ms"] for key, s in pages_out.items()},
        "tbt_start_ms": {key: s["tbt_start_ms"] for key, s in pages_out.items()},
        "tbt_playback_ms": {key: s["tbt_playback_ms"] for key, s in pages_out.items()},
        "event_us": {key: e["net"] for key, e in events.items()},
        "event_us_with_dispatch": {key: e["full"] for key, e in events.items()},
        "event_us_ungated": {key: e["net"] for key, e in ungated.items()},
        # timeupdates the gate saw and forwarded to Python during the gated rounds (None: no gate)
        "event_gate": {key: e["gate"] for key, e in list(events.items()) + [
            (k + "_ungated", e) for k, e in ungated.items()]},
        "event_us_ungated_with_dispatch": {key: e["full"] for key, e in ungated.items()},
        "phases": {key: s["timeline"] for key, s in pages_out.items()},
        "beyond_floor": {key: s["beyond_floor"] for key, s in pages_out.items() if "beyond_floor" in s},
        "per_run": {key: s["per_run"] for key, s in pages_out.items()},
        "localstorage_queue_us": {str(depth): {"enqueue": enq, "ack": ack, "chars_per_beacon": chars}
                                  for depth, (enq, ack, chars) in queue.items()},
        "enqueue_ratio_10k_vs_10": metrics.ratio(queue[10000][0], queue[10][0]),
        "backlog_10k_s": elapsed,
        "backlog_10k_stored": stored,
        "backlog_10k_in_order": in_order,
    }


def rows(results):
    """Table rows (measurement, result) of the queue and backlog figures (the pages' figures
    have their own tables: bench/readme_table.py)."""
    out = []
    for depth, q in (results.get("localstorage_queue_us") or {}).items():
        out.append(("Pyodide localStorage queue at %s: enqueue / acknowledge" % depth,
                    "%.0f / %.0f us (%.0f chars per beacon)" % (q["enqueue"], q["ack"], q["chars_per_beacon"])))
    if results.get("enqueue_ratio_10k_vs_10") is not None:
        out.append(("enqueue at 10,000 vs at 10", "%.2fx" % results["enqueue_ratio_10k_vs_10"]))
    if results.get("backlog_10k_s") is not None:
        out.append(("10,000-beacon backlog delivered after reconnecting (Pyodide)",
                    "%.1f s, %d stored, %s" % (results["backlog_10k_s"], results["backlog_10k_stored"],
                                               "in order" if results["backlog_10k_in_order"] else "OUT OF ORDER")))
    return out
