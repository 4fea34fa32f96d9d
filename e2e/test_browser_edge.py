"""The browser edge itself, driven through window.pyodide on the plain Pyodide page."""

import json
from pathlib import Path

import pytest

from kaltura_web.core.catalog import STATS_TYPE_BY_NAME as T
from e2e_helpers import assert_stored_once, wait_in_page

RESULTS = Path(__file__).resolve().parent.parent / "build" / "e2e"  # gitignored (pytest-playwright wipes test-results/)


@pytest.fixture
def py_page(kw_pages):
    """The plain Pyodide page with Python loaded but the SDK not started."""
    p = kw_pages("/web/pyodide.html?manual=1", wait_ready=False)
    wait_in_page(p.page, "window.pyodide !== undefined", "Pyodide to load", timeout=60_000)

    def run(code):
        return p.page.evaluate("code => window.pyodide.runPythonAsync(code).then(r => "
                               "(r && r.toJs) ? r.toJs({dict_converter: Object.fromEntries}) : r)", code)

    p.run = run
    return p


LEAK_SETUP = """
import random, time
from js import Array, document, window
from kaltura_web.core.tracker import Tracker
from kaltura_web.browser import _proxies, media, attach

window.__pyHandlerCalls = 0
_original_on = media.Attachment._on
def _counting_on(self, kind, event):
    window.__pyHandlerCalls += 1       # JS-side counter: a Python handler ran
    return _original_on(self, kind, event)
media.Attachment._on = _counting_on

tracker = Tracker(100, clock=time.time, rng=random.Random(1), service_url="http://127.0.0.1:9/api_v3",
                  analytics_url="http://127.0.0.1:9")   # never sent: no driver
player = tracker.player("0_leak")
video = document.createElement("video")
document.body.appendChild(video)
window.__leakVideo = video
window.__kept = Array.new()
base = _proxies.live_proxies()
"""

LEAK_CYCLES = """
for i in range(1000):
    h = attach(video, player)
    if i % 100 == 0:
        for p in h.proxies:
            window.__kept.push(p)          # JS keeps a reference to probe after detach
    h.detach()
_proxies.live_proxies() - base
"""

PROBE = """() => { let alive = 0, destroyed = 0;
  for (const p of window.__kept) {
    try { p(new Event('probe')); alive++; }
    catch (e) { if (/destroyed/i.test(String(e && e.message))) destroyed++; else throw e; }
  }
  window.__kept = [];
  return {alive, destroyed}; }"""

DISPATCH = """() => { const before = window.__pyHandlerCalls;
  window.__leakVideo.dispatchEvent(new Event('timeupdate'));
  return window.__pyHandlerCalls - before; }"""


def test_attach_detach_leaks_nothing(py_page):
    """After 1,000 attach/detach cycles a dispatched timeupdate reaches no Python code and no proxy is alive (with controls proving the checks can fail)."""
    p = py_page
    p.run(LEAK_SETUP)
    # positive control: an attached handle does run Python on timeupdate
    p.run("h = attach(video, player)")
    assert p.page.evaluate(DISPATCH) == 1
    p.run("h.detach()")
    assert p.page.evaluate(DISPATCH) == 0
    # negative control: a detach that skips destroying proxies is caught by both checks
    leaked = p.run("""
h = attach(video, player)
for px in h.proxies:
    window.__kept.push(px)
skip = h._owner.destroy
h._owner.destroy = lambda: None
h.detach()
_proxies.live_proxies() - base""")
    assert leaked > 0
    assert p.page.evaluate(PROBE)["alive"] > 0
    p.run("_proxies.ProxyOwner.destroy(h._owner)")
    # the real thing
    calls = p.run("window.__pyHandlerCalls")
    assert p.run(LEAK_CYCLES) == 0
    probe = p.page.evaluate(PROBE)
    assert probe["alive"] == 0 and probe["destroyed"] > 0, probe
    assert p.page.evaluate(DISPATCH) == 0
    assert p.run("window.__pyHandlerCalls") == calls  # no Python handler ran since the cycles


GUARD = """
import random, time
from js import document, window
from kaltura_web.core.tracker import Tracker
from kaltura_web.browser import _proxies, attach
from kaltura_web.browser._timers import Timers

tracker = Tracker(100, clock=time.time, rng=random.Random(2), service_url="http://127.0.0.1:9/api_v3",
                  analytics_url="http://127.0.0.1:9")   # never sent: no driver
base = _proxies.live_proxies()
video = document.createElement("video")
document.body.appendChild(video)
window.__guardVideo = video
h = attach(video, tracker.player("0_guard"), on_change=lambda: 1 / 0)   # a hook that always raises
fired = []
timers = Timers(tracker)
timers.call_later(0, lambda: fired.append(1 / 0))
"""


def test_guard_turns_sdk_exceptions_into_diagnostics(py_page):
    """A listener and a timer that raise inside the page: no page error, sdk-error diagnostics naming where, the timer's proxy released."""
    p = py_page
    p.run(GUARD)
    p.page.evaluate("() => window.__guardVideo.dispatchEvent(new Event('seeking'))")
    wait_in_page(p.page, "() => window.pyodide.runPython('len(timers)') === 0", "the failing timer to run")
    wheres = p.run("[d['details']['where'] for d in tracker.diagnostics if d['code'] == 'sdk-error']")
    assert "media seeking handler" in wheres and "timer callback" in wheres, wheres
    assert p.run("fired") == []
    assert p.run("_proxies.live_proxies() - base - len(h.proxies)") == 0  # only the attachment's are left
    p.run("h.detach()")
    assert p.run("_proxies.live_proxies() - base") == 0


HTTP_SETUP = """
import random
from pyodide_js import loadPackage
await loadPackage(BASE + "/web/pypi/pyodide_http-0.2.2-py3-none-any.whl")
import pyodide_http
pyodide_http.patch_all()
from kaltura_web.core.tracker import Tracker
from kaltura_web.cpython.transport import UrllibTransport
from kaltura_web.cpython.driver import SyncSender

now = [1_800_000_000.0]
clock = lambda: now[0]
tracker = Tracker(PARTNER, clock=clock, rng=random.Random(5), ks=KS, service_url=BASE + "/api_v3",
                  analytics_url=BASE)
transport = UrllibTransport(timeout=5)
sender = SyncSender(tracker, transport, clock=clock, sleep=lambda s: None)
player = tracker.player("0_http")
sender.pump(), tracker.pending()
"""


def install_cpython_edge():
    """Python that writes kaltura_web/cpython/ (from this checkout) next to the installed page
    wheel, which leaves it out: a page needs no urllib transport, this test does."""
    edge = Path(__file__).resolve().parent.parent / "kaltura_web" / "cpython"
    files = {path.name: path.read_text(encoding="utf-8") for path in sorted(edge.glob("*.py"))}
    return ("import os, kaltura_web\n"
            "folder = os.path.join(os.path.dirname(kaltura_web.__file__), 'cpython')\n"
            "os.makedirs(folder, exist_ok=True)\n"
            f"for name, text in {files!r}.items():\n"
            "    open(os.path.join(folder, name), 'w').write(text)\n")


def test_urllib_transport_under_pyodide_http(py_page, kaltura_collector):
    """The core's urllib transport works in Pyodide under pyodide_http.patch_all(): a POST body, a 500, offline, then delivery."""
    kc, p = kaltura_collector, py_page
    setup = (f"BASE = {kc.base_url!r}\nPARTNER = {kc.partner_id}\n"
             f"KS = {kc.ks('http@example.com', app_id='pyodide-http')!r}\n")
    p.run(install_cpython_edge())  # the page wheel carries core and browser only
    assert p.run(setup + HTTP_SETUP) == [1, 0]  # WIDGET_LOADED sent: the body reached the server
    first = kc.wait_for_events(1)[0]
    assert first["event_type"] == T["WIDGET_LOADED"] and first["user_id"] == "http@example.com"
    kc.faults.fail_next(1)
    assert p.run("player.loaded(4.0)\nsender.pump(), tracker.pending()") == [1, 1]  # a 500: kept
    assert kc.faults.applied.get("total") == 1
    sent_directly = p.run("tracker.queued()[0]['i']")  # stored below behind the sender's back
    status = p.run("import kaltura_web.core.encoding as enc\n"
                   "transport.send(enc.encode(tracker.queued()[0], KS, tracker.service_url, BASE)).status")
    assert status == 200  # status read straight from the transport (the 500 was consumed above)
    p.context.set_offline(True)
    assert p.run("player.playing(0.0)\nnow[0] += 60\n"
                 "transport.send(enc.encode(tracker.queued()[-1], KS, tracker.service_url, BASE)).kind") == "network"
    assert p.run("sender.pump(), tracker.pending()") == [1, 2]  # offline: no answer, nothing lost
    p.context.set_offline(False)
    assert p.run("now[0] += 60\nsender.pump(), tracker.pending()")[1] == 0
    sid = p.run("player.session_id")
    kc.wait_for_events(3, session_id=sid)
    kc.assert_session(sid, ["WIDGET_LOADED", "MEDIA_LOADED", "PLAY"])
    assert_stored_once(kc, may_repeat=[sent_directly])  # the sender re-sends it: it never saw the 200
    assert kc.verify() == []


def test_storage_failure_never_reaches_the_page(py_page, kaltura_collector):
    """localStorage throwing QuotaExceededError: no exception in the page, a diagnostic, and the beacons still arrive."""
    kc, p = kaltura_collector, py_page
    p.page.evaluate("""() => { Storage.prototype.setItem = function () {
        throw new DOMException('quota exceeded', 'QuotaExceededError'); }; }""")
    p.run("from kaltura_web.browser import start\nkw = await start()")
    p.page.click("#cta")
    evs = kc.wait_for_events(predicate=lambda evs: {1, 10002, 10003} <= {e["event_type"] for e in evs})
    assert all(e["user_id"] == "viewer@example.com" for e in evs)
    diagnostics = p.run("[d['code'] for d in kw.tracker.diagnostics]")
    assert "store-failed" in diagnostics
    assert kc.verify() == []


@pytest.mark.parametrize("path", ["/web/pyodide.html", "/web/portal.html"])
def test_cold_start_measurement(kw_pages, kaltura_collector, path):
    """Measures cold start to 'kaltura-web:ready' and bytes downloaded in a fresh context (appended to build/e2e/cold-start.jsonl)."""
    p = kw_pages(path)
    ready = p.wait_ready()
    size = p.page.evaluate("""() => performance.getEntriesByType('navigation')
        .concat(performance.getEntriesByType('resource'))
        .reduce((n, e) => n + (e.encodedBodySize || e.transferSize || 0), 0)""")
    result = {"page": path, "ready_ms": round(ready["readyAt"]),
              "sdk_start_ms": round(ready["readyAt"] - ready["startedAt"]), "bytes": size}
    RESULTS.mkdir(parents=True, exist_ok=True)
    with open(RESULTS / "cold-start.jsonl", "a") as fh:
        fh.write(json.dumps(result) + "\n")
    print(result)
    assert ready["readyAt"] < 30_000 and 1_000_000 < size < 40_000_000
    kaltura_collector.wait_for_events(1, service="analytics")
