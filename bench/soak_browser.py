"""The browser half of the soak benchmark: one SDK page looping its video at a
high playback rate for a set time, sampled at intervals (``soak_page``).

The pages are the shipped portal pages (web/portal.html on Pyodide,
web/portal-mpy.html on MicroPython), served by the local collector; on the
way to the browser (a Playwright route) the page gets two additions and
nothing else: the configuration's ``protocol`` (the soak's, "both" by
default: guide and KAVA reporters together) and, at the end of the body, a
second script for the page's own interpreter that defines
``window.__kwSoakProbe()``: what the SDK holds (bench/soak_walk.py over
``kaltura_web.browser.current()`` and the SDK's module globals), live
proxies, and the runtime's memory.  An init script, before any page script,
keeps the WebAssembly memories the page instantiates and counts loops (the
``seeked`` of each wrap: nothing else seeks) and SDK events.

Each sample first collects garbage (the page's Python ``gc.collect()``, then
V8's through the DevTools protocol), so what is left is what is held."""

import json
import os
import re
import sqlite3
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
PAGES = {"pyodide": ("/web/portal.html", "py"), "micropython": ("/web/portal-mpy.html", "mpy")}
READY_TIMEOUT_MS = 180_000
DRAIN_SECONDS = 60

INIT = """(() => {
  const s = window.__kwSoak = {ready: false, failed: null, events: 0, wraps: 0, ended: 0,
                               errors: 0, memories: []};
  const keep = (m) => { if (m instanceof WebAssembly.Memory && !s.memories.includes(m)) s.memories.push(m); };
  const scan = (o) => { try { for (const v of Object.values(o || {})) keep(v); } catch (e) {} };
  const imports = (i) => { try { for (const ns of Object.values(i || {})) scan(ns); } catch (e) {} };
  const exported = (r) => { scan((r && (r.instance || r).exports) || null); return r; };
  const inst = WebAssembly.instantiate, streaming = WebAssembly.instantiateStreaming;
  WebAssembly.instantiate = function (m, i) { imports(i); return inst.apply(this, arguments).then(exported); };
  if (streaming) WebAssembly.instantiateStreaming = function (r, i) {
    imports(i); return streaming.apply(this, arguments).then(exported); };
  addEventListener('kaltura-web:ready', () => { s.ready = true; });
  addEventListener('kaltura-web:error', (e) => { s.failed = JSON.stringify(e.detail || null); });
  addEventListener('kaltura-web:event', () => { s.events++; });
  document.addEventListener('seeked', () => { s.wraps++; }, true);
  document.addEventListener('ended', () => { s.ended++; }, true);
  document.addEventListener('error', (e) => { if (e.target && e.target.tagName === 'VIDEO') s.errors++; }, true);
})();"""

# read in the page at each sample (after its garbage collection)
READ = """() => {
  const s = window.__kwSoak, v = document.querySelector('video');
  let keys = 0, chars = 0, queued = 0;
  for (let i = 0; i < localStorage.length; i++) {
    const k = localStorage.key(i); keys++; chars += k.length + (localStorage.getItem(k) || '').length;
    if (k.includes(':q:')) queued++;
  }
  return {loops: s.wraps, sdk_events: s.events, ended: s.ended, video_errors: s.errors,
          paused: v.paused, rate: v.playbackRate,
          wasm_bytes: s.memories.reduce((n, m) => n + m.buffer.byteLength, 0),
          perf_memory: performance.memory ? performance.memory.usedJSHeapSize : null,
          ls_keys: keys, ls_bytes: 2 * chars, queued, probe: JSON.parse(window.__kwSoakProbe())};
}"""

START = """(rate) => { const v = document.querySelector('video');
  v.loop = true; v.playbackRate = rate; return v.play().then(() => v.playbackRate); }"""

PROBE_TAIL = """
import gc, json, sys
import js
from kaltura_web.browser import current, live_proxies

def _mallinfo_in_use(module):
    # bytes malloc has handed out and not had back (mallinfo's uordblks: the eighth
    # int of the struct, written through a pointer on wasm32): what Python holds
    # (sys.getallocatedblocks() is 0 on Pyodide)
    ptr = module._malloc(64)
    try:
        module._mallinfo(ptr)
        return int(module.HEAP32[ptr // 4 + 7])
    finally:
        module._free(ptr)

def _kw_soak_probe(*_):
    clear = getattr(sys, "_clear_internal_caches", None) or getattr(sys, "_clear_type_cache", None)
    if clear is not None:
        clear()  # the type cache keeps names it saw: not the SDK's (bench/soak_cpython.py)
    gc.collect()
    out = {"live_proxies": live_proxies()}
    try:  # the runtime's memory first: the walk below leaves garbage behind
        import pyodide_js
        out["runtime_bytes"] = pyodide_js._module.HEAP8.length
        out["malloc_bytes"] = _mallinfo_in_use(pyodide_js._module)
        out["py_objects"] = len(gc.get_objects())
    except ImportError:
        out["runtime_bytes"] = gc.mem_alloc()
        out["heap_free"] = gc.mem_free()
    roots = [("kw", current())]
    for name in sorted(sys.modules):
        if name == "kaltura_web" or name.startswith("kaltura_web."):
            roots.append(("module " + name, sys.modules[name].__dict__))
    sizes = held(roots, classes_of())
    out.update(held=sizes, held_total=total(sizes), listeners=listeners(sizes))
    return json.dumps(out)

try:
    from pyodide.ffi import create_proxy
    js.window.__kwSoakProbe = create_proxy(_kw_soak_probe)
except ImportError:
    js.window.__kwSoakProbe = _kw_soak_probe
"""

CONFIG_TAG = re.compile(r'id="kaltura-web-config">\s*\{')


def probe_script(kind):
    """The second page script: the walker's source, then the probe."""
    with open(os.path.join(BENCH, "soak_walk.py"), encoding="utf-8") as f:
        walker = f.read()
    return '<script type="%s">\n%s\n%s</script>\n' % (kind, walker, PROBE_TAIL)


def _log(message):
    print("[soak] " + message, file=sys.stderr, flush=True)


class Counts:
    """Events stored by the collector since ``begin()``, read from its SQLite file."""

    def __init__(self, db):
        self.db = db
        self.since = 0

    def _query(self, sql, args=()):
        conn = sqlite3.connect("file:%s?mode=ro" % self.db, uri=True, timeout=30)
        try:
            return conn.execute(sql, args).fetchall()
        finally:
            conn.close()

    def begin(self):
        self.since = self._query("SELECT COALESCE(MAX(seq), 0) FROM events")[0][0]

    def read(self):
        """(rows stored, {"service:type": rows}, rows that repeat an earlier beacon)."""
        rows = self._query("SELECT service, event_type, COUNT(*), COUNT(duplicate_of) FROM events"
                           " WHERE seq > ? GROUP BY service, event_type", (self.since,))
        by_type = {"%s:%s" % (service, kind): n for service, kind, n, _ in rows}
        return sum(by_type.values()), by_type, sum(r[3] for r in rows)


def _route_page(ctx, url, kind, protocol):
    def fulfill(route):
        response = route.fetch()
        body = response.text()
        if protocol:
            body, count = CONFIG_TAG.subn(lambda m: m.group(0) + ' "protocol": %s,' % json.dumps(protocol), body, 1)
            if not count:
                raise RuntimeError("no #kaltura-web-config tag in %s" % url)
        if "</body>" not in body:
            raise RuntimeError("no </body> in %s" % url)
        body = body.replace("</body>", probe_script(kind) + "</body>", 1)
        route.fulfill(response=response, body=body)

    ctx.route(url, fulfill)


def sample(page, cdp, counts, t0):
    """One sample: garbage collected first (Python's in the probe, then V8's), then read."""
    page.evaluate("() => window.__kwSoakProbe()")  # runs gc.collect() in the page's Python
    cdp.send("HeapProfiler.collectGarbage")
    heap = cdp.send("Runtime.getHeapUsage")
    dom = cdp.send("Memory.getDOMCounters")
    seen = page.evaluate(READ)
    beacons, by_type, repeats = counts.read()
    probe = seen.pop("probe")
    seen.update(probe)
    seen.update(t=round(time.monotonic() - t0, 2), js_heap=heap["usedSize"], js_heap_total=heap["totalSize"],
                dom_listeners=dom["jsEventListeners"], dom_nodes=dom["nodes"], documents=dom["documents"],
                beacons=beacons, by_type=by_type, repeats=repeats, load=os.getloadavg()[0])
    return seen


def _open(browser, base, name, protocol):
    path, kind = PAGES[name]
    ctx = browser.new_context()
    errors = []
    _route_page(ctx, base + path, kind, protocol)
    page = ctx.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.add_init_script(INIT)
    page.goto(base + path)
    try:
        page.wait_for_function("window.__kwSoak.ready && typeof window.__kwSoakProbe === 'function'"
                               " || window.__kwSoak.failed !== null", timeout=READY_TIMEOUT_MS)
    except Exception as exc:
        ctx.close()
        raise RuntimeError("%s was not ready: %s" % (path, "; ".join(errors[-5:]) or exc)) from None
    failed = page.evaluate("window.__kwSoak.failed")
    if failed:
        ctx.close()
        raise RuntimeError("%s could not start the SDK: %s %s" % (path, failed, "; ".join(errors[-5:])))
    return ctx, page, errors


def soak_page(browser, base, db, name, seconds, interval, rate, protocol):
    """Loop ``name``'s video at ``rate`` for ``seconds``, sampling every
    ``interval`` seconds; then pause it and let the queue drain.  Returns
    ``{"samples", "final", "rate", "page", "errors", "drained"}``."""
    counts = Counts(db)
    counts.begin()
    ctx, page, errors = _open(browser, base, name, protocol)
    try:
        cdp = ctx.new_cdp_session(page)
        t0 = time.monotonic()
        samples = [sample(page, cdp, counts, t0)]
        actual = page.evaluate(START, rate)
        _log("%s: looping at %sx for %.0f s, a sample every %.0f s" % (name, actual, seconds, interval))
        end = t0 + seconds
        next_at = t0 + interval
        while next_at <= end + 0.5:
            time.sleep(max(0.0, next_at - time.monotonic()))
            samples.append(sample(page, cdp, counts, t0))
            s = samples[-1]
            _log("%s: t=%4.0f s loops=%d beacons=%d js_heap=%d runtime=%d held=%d proxies=%d queued=%d"
                 % (name, s["t"], s["loops"], s["beacons"], s["js_heap"], s["runtime_bytes"],
                    s["held_total"], s["live_proxies"], s["queued"]))
            next_at += interval
        page.evaluate("() => document.querySelector('video').pause()")
        deadline = time.monotonic() + DRAIN_SECONDS
        while time.monotonic() < deadline and page.evaluate(
                "() => Object.keys(localStorage).filter(k => k.includes(':q:')).length") > 0:
            time.sleep(0.2)
        final = sample(page, cdp, counts, t0)
        drained = final["queued"] == 0
    finally:
        ctx.close()
    return {"page": PAGES[name][0], "rate": actual, "samples": samples, "final": final,
            "drained": drained, "errors": errors[-20:]}
