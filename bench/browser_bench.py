"""Browser benchmarks, side by side in one headless Chromium run against the
local collector: cold start and bytes, per-event bridge cost, localStorage
queue cost, and a 10,000-beacon backlog delivered after reconnecting."""

import statistics
import tempfile
import time

from playwright.sync_api import sync_playwright

from conftest import CHROMIUM, CHROMIUM_FLAGS
from kaltura_web.collector.server import CollectorServer

PAGES = (
    ("PyScript + MicroPython", "/web/portal-mpy.html"),
    ("PyScript + Pyodide", "/web/portal.html"),
    ("plain Pyodide", "/web/pyodide.html"),
    ("JavaScript baseline", "/web/bench/baseline.html"),
)
# the runtime alone (no SDK): the floor a MicroPython page cannot go below
FLOOR = ("PyScript + MicroPython, empty page (runtime floor)", "/web/bench/mpy-empty.html")
READY_PROBE = ("window.addEventListener('kaltura-web:ready', () => {"
               " window.__kwBenchReady = performance.now(); });")
# bytes of every response body the page fetched (no compression on localhost)
BYTES = """() => performance.getEntriesByType('navigation').concat(
  performance.getEntriesByType('resource')).reduce((n, e) => n + (e.encodedBodySize || 0), 0)"""
TIMEUPDATES = """(n) => {
  // median of 9 rounds: a round is n timeupdate events dispatched on the tracked
  // element, minus the same on a bare element (the DOM's own dispatch cost)
  const v = document.querySelector('video[data-kaltura-entry-id]');
  const bare = document.createElement('video');
  const round = (el) => { const t0 = performance.now();
    for (let i = 0; i < n; i++) el.dispatchEvent(new Event('timeupdate'));
    return (performance.now() - t0) / n * 1000; };
  const full = [], net = [];
  for (let r = 0; r < 9; r++) { const b = round(bare); const f = round(v); full.push(f); net.push(f - b); }
  const med = (xs) => xs.slice().sort((a, b) => a - b)[4];
  return {full: med(full), net: med(net)};
}"""

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


def _median(values):
    return statistics.median(values)


def cold_start(browser, base, path, runs):
    """(median ms to kaltura-web:ready, median bytes) over fresh contexts."""
    times, sizes = [], []
    for _ in range(runs):
        ctx = browser.new_context()
        page = ctx.new_page()
        page.add_init_script(READY_PROBE)
        page.goto(base + path)
        page.wait_for_function("window.__kwBenchReady !== undefined", timeout=120_000)
        times.append(page.evaluate("window.__kwBenchReady"))
        page.wait_for_load_state("networkidle")
        sizes.append(page.evaluate(BYTES))
        ctx.close()
    return _median(times), _median(sizes)


def per_event(browser, base, path, n=1000):
    ctx = browser.new_context()
    page = ctx.new_page()
    page.add_init_script(READY_PROBE)
    page.goto(base + path)
    page.wait_for_function("window.__kwBenchReady !== undefined", timeout=120_000)
    page.evaluate(TIMEUPDATES, 200)  # warm up
    result = page.evaluate(TIMEUPDATES, n)
    ctx.close()
    return result


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


def rows(runs=3):
    out = []
    with tempfile.TemporaryDirectory() as tmp, CollectorServer(db=tmp + "/bench.db") as server, \
            sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        base = server.base_url
        cold = {}
        for name, path in PAGES + (FLOOR,):
            cold[name] = cold_start(browser, base, path, runs)
        js_ms = cold["JavaScript baseline"][0]
        for name, _ in PAGES + (FLOOR,):
            ms, size = cold[name]
            out.append(("cold start to tracker ready: %s" % name,
                        "%.0f ms (%.1fx JS), %.2f MB" % (ms, ms / js_ms, size / 1e6)))
        events = {name: per_event(browser, base, path) for name, path in PAGES}
        js_net = max(events["JavaScript baseline"]["net"], 0.01)
        for name, _ in PAGES:
            e = events[name]
            out.append(("timeupdate through the bridge into the tracker: %s" % name,
                        "%.1f us (%.1fx JS; %.1f us with dispatch)" % (e["net"], e["net"] / js_net, e["full"])))
        queue = queue_costs(browser, base)
        for depth, (enq, ack, chars) in queue.items():
            out.append(("Pyodide localStorage queue at %d: enqueue / acknowledge" % depth,
                        "%.0f / %.0f us (%.0f chars per beacon)" % (enq, ack, chars)))
        out.append(("enqueue at 10,000 vs at 10", "%.2fx" % (queue[10000][0] / queue[10][0])))
        elapsed, stored, in_order = backlog(browser, server)
        out.append(("10,000-beacon backlog delivered after reconnecting (Pyodide)",
                    "%.1f s, %d stored, %s" % (elapsed, stored, "in order" if in_order else "OUT OF ORDER")))
        browser.close()
    return out
