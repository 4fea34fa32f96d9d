"""Events from before the SDK is ready: the inline snippet's queue (portal.html) and the no-snippet reconstruction (pyodide.html)."""

from kaltura_web.core.catalog import STATS_TYPE_BY_NAME as T
from e2e_helpers import types, wait_clock_past, wait_in_page

FULL = ["WIDGET_LOADED", "MEDIA_LOADED", "PLAY", "PLAY_REACHED_25", "PLAY_REACHED_50",
        "PLAY_REACHED_75", "PLAY_REACHED_100"]
DIAGNOSTICS = """window.__kwDiag = [];
window.addEventListener('kaltura-web:diagnostic', e => window.__kwDiag.push(e.detail));"""


WHEEL_URL = "**/kaltura_web-0.1.0-py3-none-any.whl"


def hold_wheel(held):
    """Keep the SDK's wheel back until the test releases it: the runtime cannot be ready
    before the early events, however fast or loaded the machine is."""
    def setup(p):
        p.page.route(WHEEL_URL, lambda route: held.append(route))
    return setup


def release(p, held):
    for route in held:
        route.continue_()
    held.clear()
    p.page.unroute(WHEEL_URL)  # a request not made yet goes straight through


def ready_epoch(p, ready):
    return p.page.evaluate("r => (performance.timeOrigin + r) / 1000", ready["readyAt"])


def test_early_play_and_click_are_replayed(kw_pages, kaltura_collector):
    """PyScript + Pyodide page: play and a CTA click right after navigation (before ready) arrive with their own earlier times, in order, linter clean."""
    kc = kaltura_collector
    held = []
    p = kw_pages("/web/portal.html", wait_ready=False, setup=hold_wheel(held))
    wait_in_page(p.page, "window.kalturaWebQueue !== undefined", "the inline snippet's queue")
    played = p.page.evaluate("() => { document.querySelector('video').play(); return Date.now() / 1000; }")
    p.wait_video("v.currentTime > 0.2", "playback to pass 0.2 s")
    clicked = p.page.evaluate("() => { document.querySelector('#cta').click(); return Date.now() / 1000; }")
    assert p.page.evaluate("window.__kwReady") is None, "the SDK was ready before the early events"
    # the claim needs time between the click and the start: a click stamped at replay would show
    wait_clock_past(p.page, clicked + 0.2, "0.2 s to pass on the page's clock after the click")
    release(p, held)
    ready = p.wait_ready()
    done = ready_epoch(p, ready)
    early = ready["early"]
    assert early["snippet"] and early["replayed"] >= 4, early  # loadedmetadata, play, playing, click...
    names = [name for name, _t in early["records"]]
    assert names.index("play") < names.index("playing") < names.index("click")
    click_t = [t for name, t in early["records"] if name == "click"][0]
    assert abs(click_t - clicked) < 0.05 and click_t < done
    play = p.wait_sdk_event("PLAY")[0]
    assert played - 0.05 <= play["t"] < clicked < done
    sid = ready["players"][0]["sessionId"]
    stats = kc.wait_for_events(3, session_id=sid, service="stats")
    assert types(stats)[:3] == [T["WIDGET_LOADED"], T["MEDIA_LOADED"], T["PLAY"]]
    assert int(stats[2]["fields"]["eventTimestamp"]) <= int(clicked) < done
    track = kc.wait_for_events(2, service="analytics")
    assert types(track) == [10003, 10002]
    assert track[1]["fields"]["buttonName"] == "register-now"
    p.wait_video("v.ended", "the video to end")
    kc.wait_for_events(7, session_id=sid, service="stats")
    kc.assert_session(sid, FULL)
    assert p.page.evaluate("window.kalturaWebQueue.length") == 0  # drained
    assert kc.verify() == []


def test_no_snippet_reconstructs_playback(kw_pages, kaltura_collector):
    """Page without the snippet, video already playing when the SDK starts: PLAY at the current position and a diagnostic saying it was reconstructed."""
    kc = kaltura_collector
    held = []

    def setup(p):
        p.context.add_init_script(DIAGNOSTICS)
        hold_wheel(held)(p)

    p = kw_pages("/web/pyodide.html", wait_ready=False, setup=setup)
    assert p.page.evaluate("window.kalturaWebQueue") is None
    p.video("v.playbackRate = 0.25; v.play();")
    p.wait_video("v.currentTime > 0.1", "playback to pass 0.1 s")
    assert p.page.evaluate("window.__kwReady") is None
    release(p, held)
    ready = p.wait_ready()
    early = ready["early"]
    assert early["snippet"] is False and len(early["reconstructed"]) == 1, early
    state = early["reconstructed"][0]
    assert state["entryId"] == "0_lobby001" and state["position"] > 0.1
    play = p.wait_sdk_event("PLAY")[0]
    assert abs(play["position"] - state["position"]) < 0.01
    assert play["t"] >= ready_epoch(p, ready) - 1.0  # reconstructed now, not at the unknown real start
    diag = p.page.evaluate("window.__kwDiag")
    assert any("reconstructed" in d["message"] for d in diag), diag
    sid = ready["players"][0]["sessionId"]
    kc.wait_for_events(3, session_id=sid)
    assert types(kc.events(session_id=sid))[:3] == [T["WIDGET_LOADED"], T["MEDIA_LOADED"], T["PLAY"]]
    assert kc.verify() == []
