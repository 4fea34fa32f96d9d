"""Starting without the network, and starting late.

Ready is not blocked by the network: with the KS URL held back by the test, the page is
ready, records and queues a whole playback, sends nothing, then sends everything in order
once the KS comes; a backlog stored by an earlier visit still goes first.

Starting late loses less: the SDK's archive is held back while a muted video autoplays,
then released; with or without the early-event snippet, through automatic
instrumentation and through ``attach()`` (the README's custom-player code), on
MicroPython and Pyodide, the session holds PLAY, the quartiles natural playback reached
before the SDK started, and the rest of the playback.
"""

import json
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError

from kaltura_web.core.catalog import STATS_TYPE_BY_NAME as T
from e2e_helpers import assert_stored_once, queued_ids, types, wait_in_page, wait_queued

ROOT = Path(__file__).resolve().parent.parent
MPY_PAGE = "/web/portal-mpy.html"
QUARTILES = ["PLAY_REACHED_25", "PLAY_REACHED_50", "PLAY_REACHED_75", "PLAY_REACHED_100"]
FULL = ["WIDGET_LOADED", "MEDIA_LOADED", "PLAY"] + QUARTILES
BUFFERING = (T["BUFFER_START"], T["BUFFER_END"])
MARKS = "performance.getEntriesByType('mark').map(m => m.name).filter(n => n.startsWith('kaltura_web:'))"
DIAGNOSTICS = """window.__kwDiag = [];
window.addEventListener('kaltura-web:diagnostic', e => window.__kwDiag.push(e.detail));"""


@pytest.fixture(scope="module", autouse=True)
def mpy_bundle():
    """The MicroPython pages load web/dist/kaltura_web.mpy: rebuild it from the tree."""
    import runpy

    runpy.run_path(str(ROOT / "tools" / "build_mpy.py"))["build"](ROOT / "web/dist/kaltura_web.mpy")


class Held:
    """Requests matching ``pattern`` wait in the test until ``release()``."""

    def __init__(self, page, pattern):
        self.page, self.pattern, self.routes = page, pattern, []
        page.route(pattern, lambda route: self.routes.append(route))

    def release(self):
        self.page.unroute(self.pattern)  # a request not made yet goes straight through
        for route in self.routes:
            try:
                route.continue_()
            except PlaywrightError:  # a request of a page that was navigated away
                pass
        self.routes.clear()


def marks(p):
    return [m.split(":", 1)[1] for m in p.page.evaluate(MARKS)]


# -- ready is not blocked by the network -------------------------------------------------

def test_ready_before_the_ks_then_everything_sent_in_order(kw_pages, kaltura_collector):
    """MicroPython page, KS URL held: ready at once, a whole playback and a click are recorded and queued with
    nothing sent; released, every beacon arrives in order with the KS, linter clean."""
    kc = kaltura_collector
    ks = []
    p = kw_pages(MPY_PAGE, wait_ready=False, setup=lambda p: ks.append(Held(p.page, "**/dev/ks**")))
    ready = p.wait_ready()
    assert ks[0].routes, "the KS was not even asked for"
    # "unpacked": the MicroPython bundle's first import (tools/mpy_bundle_head.py)
    assert marks(p)[:6] == ["unpacked", "start", "imported", "config", "instrumented", "ready"] \
        and "ks" not in marks(p)
    p.video("v.playbackRate = 2; v.play();")
    p.wait_video("v.ended", "the video to end")
    p.page.click("#cta")
    p.wait_sdk_event("PLAY_REACHED_100")
    wait_queued(p.page, ">= 9", "7 playback beacons, PageLoad and the click in the queue")
    assert kc.events() == [] and "storage" in marks(p)
    ks[0].release()
    sid = ready["players"][0]["sessionId"]
    kc.wait_for_events(7, session_id=sid, service="stats")
    kc.assert_session(sid, FULL)
    assert types(kc.wait_for_events(2, service="analytics")) == [10003, 10002]
    wait_in_page(p.page, f"{MARKS}.includes('kaltura_web:first-beacon')", "the first-beacon mark", observe=MARKS)
    assert marks(p)[-2:] == ["ks", "first-beacon"]
    wait_queued(p.page, "=== 0", "the queue to drain")
    assert_stored_once(kc)
    assert kc.verify() == []


def test_a_stored_backlog_is_sent_before_the_new_pages_beacons(kw_pages, kaltura_collector):
    """A visit that never got its KS leaves its beacons stored; the next visit records its own before it reads
    them, and once the KS comes the old visit's beacons arrive first in each queue, every one once."""
    kc = kaltura_collector
    ks = []
    p = kw_pages(MPY_PAGE, wait_ready=False, setup=lambda p: ks.append(Held(p.page, "**/dev/ks**")))
    p.wait_ready()
    p.page.click("#cta")
    p.page.click("#share")
    wait_queued(p.page, ">= 6", "WIDGET_LOADED, MEDIA_LOADED, PageLoad, two clicks and OPEN_VIRAL stored")
    old = set(queued_ids(p.page))
    p.reload()  # no KS yet: the pagehide flush sends nothing either
    p.page.click("#cta")
    wait_queued(p.page, f">= {len(old) + 4}", "the new visit's beacons stored after the old ones")
    new = set(queued_ids(p.page)) - old
    assert kc.events() == []
    ks[0].release()
    kc.wait_for_events(len(old) + len(new), timeout=20)
    stored = kc.events()
    assert {e["beacon_id"] for e in stored} == old | new
    for service in ("stats", "analytics"):
        visits = ["old" if e["beacon_id"] in old else "new" for e in stored if e["service"] == service]
        assert visits == sorted(visits, key=lambda v: v == "new"), (service, visits)
    wait_queued(p.page, "=== 0", "the queue to drain")
    assert_stored_once(kc)
    assert kc.verify() == []


# -- starting late ---------------------------------------------------------------------

SNIPPET = next(line for line in (ROOT / "web/kaltura-snippet.js").read_text().splitlines()
               if line.startswith("!function(w,d)"))
PYODIDE = ('<script type="py" config=\'{"interpreter": "/web/node_modules/pyodide/pyodide.mjs", '
           '"packages": ["/web/dist/kaltura_web-0.1.0-py3-none-any.whl"], "packages_cache": "passthrough", "index_urls": []}\'>'
           "\n%s\n</script>")
MICROPYTHON = ('<mpy-config>{"interpreter": "/web/node_modules/@micropython/micropython-webassembly-pyscript/'
               'micropython.mjs", "files": {"/web/dist/kaltura_web.mpy": "./kaltura_web/__init__.mpy"}}</mpy-config>\n'
               '<script type="mpy">\n%s\n</script>')
ARCHIVE = {"py": "**/kaltura_web-0.1.0-py3-none-any.whl", "mpy": "**/kaltura_web.mpy"}
AUTO = "import kaltura_web.browser.auto"
CUSTOM_PLAYER = """from js import document
from kaltura_web.browser import attach, start

kaltura = await start()
handle = attach(document.getElementById("late-video"), "0_late001")"""
PATH = "/web/late-start.html"
# how the video is left before the SDK starts: its playback rate from the start (slow enough
# that a main thread busy loading the runtime does not carry it past the point), the state to
# wait for (JavaScript over v), and what the test then does
STATES = {
    # past 50%, then slowed down further so that it is still playing when even Pyodide is ready
    "playing": (0.5, "v.currentTime > 2.1", "v.playbackRate = 0.1;"),
    "paused": (0.5, "v.currentTime > 2.1", "v.pause();"),
    "ended": (2, "v.ended", ""),
}


def late_page(runtime, how, snippet, rate=1):
    """The page: a muted autoplaying video, the SDK started by ``auto`` or by the README's custom-player
    code (``attach``); with the snippet, the video carries data-kaltura-entry-id (what the snippet records)
    and the custom player turns automatic instrumentation off."""
    config = {"partnerId": 100, "serviceUrl": "/api_v3", "analyticsUrl": "/",
              "ksUrl": "/dev/ks?userId=viewer%40example.com&appId=late-start", "userId": "viewer@example.com",
              "kalturaApplication": "late-start"}
    entry = ' data-kaltura-entry-id="0_late001"' if how == "auto" or snippet else ""
    if how == "attach" and snippet:
        config["instrument"] = False
    code = AUTO if how == "auto" else CUSTOM_PLAYER
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>late start</title><link rel="icon" href="data:,">
{'<script>' + SNIPPET + '</script>' if snippet else ''}
<script type="application/json" id="kaltura-web-config">{json.dumps(config)}</script>
<script type="module" src="/web/node_modules/@pyscript/core/dist/core.js"></script>
</head><body>
<video id="late-video"{entry} src="/web/media/test.webm" muted playsinline autoplay preload="auto"></video>
<script>document.getElementById("late-video").playbackRate = {rate};</script>
{(PYODIDE if runtime == "py" else MICROPYTHON) % code}
</body></html>"""


CASES = [  # (runtime, how, snippet, state): each dimension on each runtime, every state on MicroPython
    ("mpy", "auto", False, "playing"), ("mpy", "auto", False, "paused"), ("mpy", "auto", False, "ended"),
    ("mpy", "attach", False, "playing"), ("mpy", "attach", False, "paused"), ("mpy", "attach", False, "ended"),
    ("mpy", "auto", True, "playing"), ("mpy", "attach", True, "paused"),
    ("py", "auto", False, "playing"), ("py", "attach", False, "playing"),
    ("py", "auto", True, "ended"), ("py", "attach", True, "paused"),
]


@pytest.mark.parametrize("runtime,how,snippet,state", CASES,
                         ids=["-".join([r, h, "snippet" if s else "bare", st]) for r, h, s, st in CASES])
def test_late_start_keeps_what_natural_playback_reached(kw_pages, kaltura_collector, runtime, how, snippet, state):
    """The video autoplays before the SDK starts: its session holds PLAY, the quartiles reached before the start
    (replayed from the snippet, or reconstructed from the played range with a diagnostic naming them) and the
    rest of the playback, whether the SDK instruments it by itself or the page calls attach()."""
    kc = kaltura_collector
    rate, reached, then = STATES[state]
    html = late_page(runtime, how, snippet, rate)
    held = []

    def setup(p):
        p.context.add_init_script(DIAGNOSTICS)
        p.page.route("**" + PATH, lambda route: route.fulfill(status=200, content_type="text/html", body=html))
        held.append(Held(p.page, ARCHIVE[runtime]))

    p = kw_pages(PATH, wait_ready=False, setup=setup)
    p.wait_video(reached, "the video to reach its state before the SDK starts")
    if then:
        p.video(then)
    assert p.page.evaluate("window.__kwReady") is None, "the SDK started before the test let it"
    held[0].release()
    ready = p.wait_ready()
    play = p.wait_sdk_event("PLAY")[0]
    diag = [d for d in p.page.evaluate("window.__kwDiag") if d["code"] == "reconstructed"]
    started = p.page.evaluate("r => (performance.timeOrigin + r) / 1000", ready["startedAt"])
    if snippet:  # replayed: PLAY keeps the time it happened, before the SDK started
        assert diag == [] and play["t"] < started
    else:  # reconstructed now, at the current position
        assert play["t"] >= started - 0.5
        (entry,) = diag
        assert entry["details"]["state"]["quartiles"][:2] == QUARTILES[:2], entry
        assert "PLAY_REACHED_50" in entry["message"]
    if state == "paused":
        p.wait_sdk_event("PAUSE")
    if state != "ended":
        p.video("v.playbackRate = 2; v.play();")
        p.wait_video("v.ended", "the video to end")
    sid = play["sessionId"]
    kc.wait_for_session(sid, contains=FULL, timeout=20)
    # the slowed-down video may stall and resume (BUFFER_START/END): real events, not the point here
    assert [t for t in types(kc.events(session_id=sid, service="stats")) if t not in BUFFERING] == \
        [T[name] for name in FULL]
    assert {e["fields"]["entryId"] for e in kc.events(session_id=sid)} == {"0_late001"}
    # every answer read before the page closes (else its pagehide flush re-sends into the next test)
    wait_queued(p.page, "=== 0", "the queue to drain")
    assert_stored_once(kc)
    assert kc.verify() == []
