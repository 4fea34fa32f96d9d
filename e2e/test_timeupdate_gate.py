"""The timeupdate gate on real pages: what Python is told, the JavaScript gate
holds back the timeupdates without news, and nothing reported changes.

Each scenario runs on two pages side by side, one with the gate (the default)
and one with ``"timeupdateGate": false``, and the player events (every
``kaltura-web:event``), the diagnostics and, for KAVA, the stored beacons must
be the same.  The scenario itself runs inside the page and waits for the SDK's
events before each step, so both pages take the same steps in the same order.
"""

import json
from pathlib import Path

from e2e_helpers import assert_stored_once, wait_in_page

ROOT = Path(__file__).resolve().parent.parent
MPY = "/web/portal-mpy.html"
PYODIDE = "/web/portal.html"
GATE = "Symbol.for('kaltura_web:gate')"

# what the pages add: every timeupdate the element fires, the diagnostics, and the scenario's helpers
PAGE_SCRIPT = """
window.__fired = 0;
document.addEventListener('timeupdate', () => { window.__fired++; }, true);
window.__kwDiagnostics = [];
window.addEventListener('kaltura-web:diagnostic', e => window.__kwDiagnostics.push(e.detail.code));
window.__until = (cond, what, ms = 40000) => new Promise((resolve, reject) => {
  const end = performance.now() + ms;
  const poll = () => {
    if (cond()) return resolve();
    if (performance.now() > end) return reject(new Error('timed out waiting for ' + what));
    setTimeout(poll, 5);
  };
  poll();
});
window.__sdk = (name) => __until(() => __kwEvents.some(e => e.name === name), 'the SDK event ' + name);
window.__scenario = {done: false, error: null};
"""

# v.play(), rate 2 from PLAY until 25%, then 1 again: SPEED twice, every quartile by natural playback
RATES = """async () => {
  const v = document.querySelector('video');
  v.play(); await __sdk('PLAY');
  v.playbackRate = 2; await __sdk('PLAY_REACHED_25');
  v.playbackRate = 1; await __until(() => v.ended, 'the end'); await __sdk('ENDED');
}"""
# a buffer that a natural timeupdate ends, then a jump reported by a timeupdate before its
# seeking (dispatched at once, as a browser may): 25% and 50% are jumped over
JUMP = """async () => {
  const v = document.querySelector('video');
  v.play(); await __sdk('PLAY');
  await __until(() => v.currentTime > 0.3, 'playback past 0.3 s');
  v.dispatchEvent(new Event('waiting')); await __sdk('BUFFER_END');
  v.currentTime = 2.4; v.dispatchEvent(new Event('timeupdate'));
  await __until(() => v.ended, 'the end'); await __sdk('ENDED');
}"""
# KAVA: the whole 25-s clip at 1x, VIEW at PLAY and every 10 s of playing
KAVA = """async () => {
  const v = document.querySelector('video');
  v.play(); await __until(() => v.ended, 'the end', 60000); await __sdk('ENDED');
}"""

BEFORE_THE_JUMP = ["WIDGET_LOADED", "MEDIA_LOADED", "PLAY_REQUEST", "PLAY", "FIRST_PLAY", "BUFFER_START",
                   "BUFFER_END"]
AFTER_THE_JUMP = ["SEEK", "PLAY_REACHED_75", "PLAY_REACHED_90", "PLAY_REACHED_100", "ENDED"]


def _page_html(path, gate, protocol=None):
    """The demo page at ``path`` with the gate on or off (and the protocol) in its configuration."""
    html = (ROOT / path.lstrip("/")).read_text(encoding="utf-8")
    head, rest = html.split('id="kaltura-web-config">', 1)
    text, tail = rest.split("</script>", 1)
    config = json.loads(text)
    config["timeupdateGate"] = gate
    if protocol == "kava":
        config["protocol"] = "kava"
        tail = tail.replace("/web/media/test.webm", "/web/media/kava.webm")
    return head + 'id="kaltura-web-config">' + json.dumps(config) + "</script>" + tail


def _open_pair(kw_pages, path, protocol=None):
    """Two pages of ``path``: (gated, ungated), both ready."""
    pages = []
    for gate in (True, False):
        served = "/web/gate-%s-%s" % ("on" if gate else "off", path.rsplit("/", 1)[1])
        html = _page_html(path, gate, protocol)

        def setup(p, html=html, served=served):
            p.context.add_init_script(PAGE_SCRIPT)
            p.page.route("**" + served, lambda route: route.fulfill(
                status=200, content_type="text/html; charset=utf-8", body=html))

        pages.append(kw_pages(served, wait_ready=False, setup=setup))
    for p in pages:
        p.wait_ready()
        p.wait_sdk_event("MEDIA_LOADED")
    return pages


def _run(pages, scenario, timeout=60_000):
    """Start ``scenario`` in every page at once, then wait for each to finish."""
    for p in pages:
        p.page.evaluate("""s => { (new Function('return ' + s))()().then(
            () => { __scenario.done = true; }, e => { __scenario.error = String(e); __scenario.done = true; }); }""",
                        scenario)
    for p in pages:
        wait_in_page(p.page, "window.__scenario.done", "the scenario to finish", observe="window.__kwEvents.map(e => e.name)",
                     timeout=timeout)
        assert p.page.evaluate("window.__scenario.error") is None, p.page.evaluate("window.__scenario.error")


def _report(p):
    """(player event names, diagnostic codes, timeupdates fired, timeupdates the gate let through or None)."""
    return p.page.evaluate("""() => {
        const g = document.querySelector('video')[%s];
        return [__kwEvents.map(e => e.name), __kwDiagnostics, __fired, g ? [g.seen, g.forwarded] : null];
    }""" % GATE)


def _compare(pages):
    """The gated page reports what the ungated one does; returns the gated page's report."""
    gated, plain = (_report(p) for p in pages)
    assert gated[0] == plain[0], "player events differ:\n gated   %s\n ungated %s" % (gated[0], plain[0])
    assert sorted(gated[1]) == sorted(plain[1]), (gated[1], plain[1])
    assert "sdk-error" not in gated[1] and "clock-backwards" not in gated[1], gated[1]
    assert plain[3] is None  # no gate on the ungated page: every timeupdate reached Python
    seen, forwarded = gated[3]
    assert seen == gated[2], "the gate saw %d of the %d timeupdates fired" % (seen, gated[2])
    assert 0 < forwarded <= seen
    return gated


def test_rate_changes_and_every_quartile_by_natural_playback_as_without_the_gate(kw_pages):
    """MicroPython: rate 2 then 1, the quartiles 25..100 by natural playback: the same events gated and ungated."""
    pages = _open_pair(kw_pages, MPY)
    _run(pages, RATES)
    names, _, fired, (seen, forwarded) = _compare(pages)
    assert names == ["WIDGET_LOADED", "MEDIA_LOADED", "PLAY_REQUEST", "PLAY", "FIRST_PLAY", "SPEED",
                     "PLAY_REACHED_25", "SPEED", "PLAY_REACHED_50", "PLAY_REACHED_75", "PLAY_REACHED_90",
                     "PLAY_REACHED_100", "ENDED"], names
    assert forwarded < seen, (seen, forwarded)


def test_a_buffer_and_a_jump_before_seeking_as_without_the_gate_micropython(kw_pages):
    """MicroPython: BUFFER_END on the next natural timeupdate; a jump reported before its seeking reaches Python, no quartile jumped over fires."""
    pages = _open_pair(kw_pages, MPY)
    _run(pages, JUMP)
    names, codes, _, _ = _compare(pages)
    assert names == BEFORE_THE_JUMP + AFTER_THE_JUMP, names
    assert "unexplained-jump" in codes, codes  # the timeupdate before seeking was a jump, as Python saw it


def test_a_buffer_and_a_jump_before_seeking_as_without_the_gate_pyodide(kw_pages):
    """Pyodide (PyScript): the same buffer and jump scenario, the same events gated and ungated."""
    pages = _open_pair(kw_pages, PYODIDE)
    _run(pages, JUMP)
    names, codes, _, _ = _compare(pages)
    assert names == BEFORE_THE_JUMP + AFTER_THE_JUMP, names
    assert "unexplained-jump" in codes, codes


def test_kava_views_every_ten_seconds_as_without_the_gate_and_most_timeupdates_stay_in_javascript(
        kw_pages, kaltura_collector):
    """KAVA, 25-s clip at 1x: VIEW at PLAY, +10 s and +20 s on both pages, the same KAVA stream; the gate lets through only a few timeupdates."""
    kc = kaltura_collector
    pages = _open_pair(kw_pages, MPY, protocol="kava")
    sessions = [p.wait_ready()["players"][0]["sessionId"] for p in pages]
    _run(pages, KAVA, timeout=90_000)
    gated = _compare(pages)
    streams = []
    for p, session in zip(pages, sessions):
        p.wait_queued("== 0", "the page's queue to drain")
        kava = [e for e in kc.wait_for_events(predicate=lambda evs: 33 in [e["event_type"] for e in evs],
                                              session_id=session, service="analytics")
                if e["event_type"] < 10000]
        streams.append(kava)
    ids = [[e["event_type"] for e in stream] for stream in streams]
    assert ids[0] == ids[1], ids
    assert ids[0] == [1, 2, 3, 99, 11, 99, 12, 13, 99, 15, 14, 33], ids[0]
    for stream in streams:
        sums = [float(e["fields"]["playTimeSum"]) for e in stream if e["event_type"] == 99]
        assert sums[0] < 0.5 and 9 <= sums[1] <= 11.5 and 19 <= sums[2] <= 21.5, sums
        assert [int(e["fields"]["eventIndex"]) for e in stream] == list(range(1, len(stream) + 1))
    seen, forwarded = gated[3]
    # about 100 timeupdates in 25 s; Python needs the first, the five quartiles, two VIEWs and the end
    assert seen >= 60 and forwarded * 4 < seen, (seen, forwarded)
    print("KAVA 25 s: %d timeupdates fired, %d reached Python through the gate" % (seen, forwarded))
    assert_stored_once(kc)
