"""Media that comes and goes (a single-page portal): automatic instrumentation follows the DOM.

A page that starts with no media: a video inserted after start() is reported with no call from
the page, moved within the page it keeps its session, removed mid-playback its session is
closed and nothing of it is left (live proxies back where they were, no listener on the
element or added to document), put back it gets a new session, and a button inserted later
reports its click. On Pyodide (PyScript) and MicroPython.
"""

import json
import re
from pathlib import Path

import pytest

from e2e_helpers import assert_stored_once, wait_in_page, wait_until

ROOT = Path(__file__).resolve().parent.parent
PATH = "/web/dom-watch.html"
ENTRY = "0_dom001"
PASS = [1, 2, 3, 4, 5]  # WIDGET_LOADED, MEDIA_LOADED, PLAY, 25, 50


def _runtime_tags(runtime):
    """The demo page's own way of loading the SDK (its interpreter config), for ``runtime``."""
    if runtime == "py":
        tag = re.search(r'<script type="py"[^>]*>', (ROOT / "web/portal.html").read_text()).group(0)
        return tag, "</script>"
    config = re.search(r"<mpy-config>.*?</mpy-config>", (ROOT / "web/portal-mpy.html").read_text(), re.S).group(0)
    return config + '\n<script type="mpy">', "</script>"


# the page's Python: the SDK, plus a probe for the test (live proxies, attachments, closed sessions)
PAGE_PYTHON = """
import json
from js import window
from kaltura_web.browser import live_proxies, start
from kaltura_web.browser._proxies import ProxyOwner
from kaltura_web.core.tracker import Player

closed = []
_close = Player.close


def _closing(self, t=None):
    events = _close(self, t)
    closed.append([self.entry_id, self.session_id, self.session.state])
    return events


Player.close = _closing
kw = await start()


def probe(*args):
    w = kw.watcher
    return json.dumps({"live": live_proxies(), "closed": closed, "released": w.released,
                       "attachments": [[a.player.entry_id, a.player.session_id] for a in kw.attachments],
                       "players": len(kw.tracker.players), "batches": int(w.js.batches),
                       "notified": int(w.js.notified)})


window.kwProbe = ProxyOwner(kw.tracker, "e2e probe").proxy(probe)
"""


def page_html(runtime):
    config = {"partnerId": 100, "serviceUrl": "/api_v3", "analyticsUrl": "/",
              "ksUrl": "/dev/ks?userId=viewer%40example.com&appId=dom-watch", "userId": "viewer@example.com",
              "kalturaApplication": "dom-watch"}
    opening, closing = _runtime_tags(runtime)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>dom watch</title><link rel="icon" href="data:,">
<script type="application/json" id="kaltura-web-config">{json.dumps(config)}</script>
<script type="module" src="/web/node_modules/@pyscript/core/dist/core.js"></script>
</head><body data-kaltura-page-type="portal" data-kaltura-page-name="spa">
<div id="stage"></div><div id="elsewhere"></div>
{opening}{PAGE_PYTHON}{closing}
</body></html>"""


# counts the live listeners of every EventTarget (window.__kwListeners(target)), and the waits
INIT_SCRIPT = """
(() => {
  const live = new WeakMap();
  const add = EventTarget.prototype.addEventListener, remove = EventTarget.prototype.removeEventListener;
  EventTarget.prototype.addEventListener = function (type, fn, options) {
    let list = live.get(this);
    if (!list) live.set(this, list = []);
    if (fn && !list.some(x => x[0] === type && x[1] === fn)) list.push([type, fn]);
    return add.call(this, type, fn, options);
  };
  EventTarget.prototype.removeEventListener = function (type, fn, options) {
    const list = live.get(this);
    const i = list ? list.findIndex(x => x[0] === type && x[1] === fn) : -1;
    if (i >= 0) list.splice(i, 1);
    return remove.call(this, type, fn, options);
  };
  window.__kwListeners = target => (live.get(target) || []).length;
})();
window.__until = (cond, what, ms = 20000) => new Promise((resolve, reject) => {
  const end = performance.now() + ms;
  const poll = () => {
    if (cond()) return resolve();
    if (performance.now() > end) return reject(new Error('timed out waiting for ' + what));
    setTimeout(poll, 5);
  };
  poll();
});
window.__count = (name) => __kwEvents.filter(e => e.name === name && e.entryId === %r).length;
""" % ENTRY

# add a video (after a DOM change without media), play it at 2x, move it at 25%, remove it at 50%;
# the steps run in the page so that they keep up with the 2-s playback
ADD_MOVE_REMOVE = """async () => {
  const stage = document.getElementById('stage'), elsewhere = document.getElementById('elsewhere');
  stage.appendChild(document.createElement('p'));  // no media: Python is not called
  await new Promise(r => setTimeout(r, 0));
  const v = document.createElement('video');
  v.setAttribute('data-kaltura-entry-id', %r);
  v.muted = true; v.playsInline = true; v.preload = 'auto'; v.src = '/web/media/test.webm';
  window.__v = v;
  stage.appendChild(v);
  await __until(() => __count('MEDIA_LOADED') >= 1, 'MEDIA_LOADED of the added video');
  v.playbackRate = 2; v.play();
  await __until(() => __count('PLAY_REACHED_25') >= 1, '25%%');
  elsewhere.appendChild(v);  // a move: out of #stage and into #elsewhere in one batch
  await __until(() => __count('PLAY_REACHED_50') >= 1, '50%% after the move');
  window.__afterMove = JSON.parse(kwProbe());
  window.__beforeRemoval = {paused: v.paused, ended: v.ended};
  v.remove();
}""" % ENTRY

READD = """async () => {
  document.getElementById('stage').appendChild(__v);
  await __until(() => __count('WIDGET_LOADED') >= 2, 'WIDGET_LOADED of the element put back');
  __v.play();
  await __until(() => __count('PLAY') >= 2, 'PLAY in the new session');
  __v.pause();
  await __until(() => __count('PAUSE') >= 1, 'PAUSE');
  document.body.insertAdjacentHTML('beforeend',
    '<button id="later" data-kaltura-button="cta:added-later">Added later</button>');
}"""


def run_in_page(p, scenario):
    """Run the async JavaScript function ``scenario`` in the page and wait until it is done (or failed)."""
    p.page.evaluate("s => { window.__scenario = {done: false, error: null};"
                    " (new Function('return ' + s))()().then(() => { __scenario.done = true; },"
                    " e => { __scenario.error = String(e); __scenario.done = true; }); }", scenario)
    wait_in_page(p.page, "window.__scenario.done", "the scenario to finish",
                 observe="window.__kwEvents.map(e => e.name)", timeout=40_000)
    assert p.page.evaluate("window.__scenario.error") is None, p.page.evaluate("window.__scenario.error")


def probe(p):
    return json.loads(p.page.evaluate("kwProbe()"))


def sessions_of(events):
    """[(sessionId, [names])] of the SDK's events for ENTRY, in order of the sessions."""
    out = []
    for e in events:
        if e.get("entryId") == ENTRY:
            if not out or out[-1][0] != e["sessionId"]:
                out.append((e["sessionId"], []))
            out[-1][1].append(e["name"])
    return out


@pytest.mark.parametrize("runtime", ["py", "mpy"], ids=["pyodide", "micropython"])
def test_media_that_comes_and_goes(kw_pages, kaltura_collector, runtime):
    """Added after start: reported; moved: same session; removed mid-playback: session closed, no proxy or listener left; put back: a new session; a button added later: its click reported."""
    kc = kaltura_collector
    html = page_html(runtime)

    def setup(p):
        p.context.add_init_script(INIT_SCRIPT)
        p.page.route("**" + PATH, lambda route: route.fulfill(status=200, content_type="text/html", body=html))

    p = kw_pages(PATH, setup=setup)
    wait_in_page(p.page, "typeof window.kwProbe === 'function'", "the page's probe")
    assert p.page.evaluate("window.__kwReady.players") == []
    kc.wait_for_events(1, service="analytics")  # PageLoad: the KS came and the sender runs
    p.wait_queued("== 0", "the queue to drain")
    base = probe(p)
    base_document = p.page.evaluate("__kwListeners(document)")

    run_in_page(p, ADD_MOVE_REMOVE)
    moved = p.page.evaluate("window.__afterMove")
    assert p.page.evaluate("window.__beforeRemoval") == {"paused": False, "ended": False}  # removed mid-playback
    (first,) = [sid for entry, sid in moved["attachments"] if entry == ENTRY]
    assert moved["released"] == 0 and moved["closed"] == []
    # removed: the session closed, every proxy and listener of it gone
    gone = wait_until(lambda: probe(p), "the removed video's proxies to be destroyed",
                      until=lambda s: s["live"] == base["live"], timeout=10)
    assert gone["closed"] == [[ENTRY, first, "closed"]] and gone["released"] == 1
    assert gone["attachments"] == [] and gone["players"] == base["players"]
    assert p.page.evaluate("__kwListeners(__v)") == 0
    assert p.page.evaluate("__kwListeners(document)") == base_document
    assert p.page.evaluate("__v[Symbol.for('kaltura_web:gate')] === undefined")

    run_in_page(p, READD)
    sessions = sessions_of(p.sdk_events())
    assert [sid for sid, _ in sessions][:1] == [first] and len(sessions) == 2, sessions
    assert sessions[0][1].count("WIDGET_LOADED") == 1 and "PAUSE" not in sessions[0][1], sessions
    second = sessions[1][0]
    assert sessions[1][1][:2] == ["WIDGET_LOADED", "MEDIA_LOADED"] and "PLAY" in sessions[1][1], sessions
    p.page.click("#later")
    clicks = kc.wait_for_events(predicate=lambda evs: any(e["event_type"] == 10002 for e in evs),
                                service="analytics")
    assert [e["fields"]["buttonName"] for e in clicks if e["event_type"] == 10002] == ["added-later"]
    last = probe(p)
    assert [sid for _, sid in last["attachments"]] == [second]
    assert last["notified"] == 4 and last["batches"] >= last["notified"] + 2, last  # add, move, remove, put back

    p.wait_queued("== 0", "the queue to drain")
    stats = kc.events(service="stats")
    by_session = {}
    for e in stats:
        by_session.setdefault(e["session_id"], []).append(e["event_type"])
    assert [t for t in by_session[first] if t in PASS] == PASS, by_session
    assert by_session[second][:3] == [1, 2, 3], by_session
    assert 17 not in by_session[first], by_session  # the move is no seek
    assert_stored_once(kc)
    assert kc.verify() == []
