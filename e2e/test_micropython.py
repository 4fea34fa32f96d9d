"""The SDK on MicroPython (PyScript ``<script type="mpy">``, web/portal-mpy.html): same core, same edge."""

import time
from pathlib import Path

import pytest

from kaltura_web.core.catalog import STATS_TYPE_BY_NAME as T
from kaltura_web.core.retry import BACKOFF
from e2e_helpers import (assert_clicks_survived_reload, assert_stored_once, queued_types, types,
                         wait_clock_past, wait_in_page, wait_until)

ROOT = Path(__file__).resolve().parent.parent
PAGE = "/web/portal-mpy.html"
QUARTILES = ["PLAY_REACHED_25", "PLAY_REACHED_50", "PLAY_REACHED_75", "PLAY_REACHED_100"]
FULL = ["WIDGET_LOADED", "MEDIA_LOADED", "PLAY"] + QUARTILES
REQUIRED = ("partnerId", "entryId", "eventType", "sessionId", "eventTimestamp")


@pytest.fixture(scope="module", autouse=True)
def mpy_bundle():
    """The page loads the package from web/dist/kaltura_web.mpy (what `make setup` builds); rebuild it from the tree."""
    import runpy

    runpy.run_path(str(ROOT / "tools" / "build_mpy.py"))["build"](ROOT / "web/dist/kaltura_web.mpy")


def test_mpy_full_playback(kw_pages, kaltura_collector):
    """MicroPython page: a full playback sends WIDGET_LOADED, MEDIA_LOADED, PLAY, 25/50/75/100 in order with the guide's fields; PageLoad and a click too."""
    kc = kaltura_collector
    p = kw_pages(PAGE)
    ready = p.wait_ready()
    assert p.page.evaluate("document.querySelector('script[type=mpy]') !== null")
    p.wait_sdk_event("WIDGET_LOADED")
    p.video("v.playbackRate = 2; v.play();")
    p.wait_video("v.ended", "the video to end")
    sid = ready["players"][0]["sessionId"]
    kc.wait_for_events(7, session_id=sid, service="stats")
    kc.assert_session(sid, FULL)
    for e in kc.events(service="stats", session_id=sid):
        f = e["fields"]
        assert all(f.get(k) not in (None, "") for k in REQUIRED), f
        assert f["entryId"] == "0_lobby001" and f["referrer"] == kc.base_url + PAGE
        assert e["user_id"] == "viewer@example.com" and e["app_id"] == "portal-mpy"
        if e["event_type"] in [T[q] for q in QUARTILES]:
            assert f["duration"] == "4"
    p.page.click("#cta")
    track = kc.wait_for_events(2, service="analytics")
    assert types(track) == [10003, 10002]
    assert track[0]["fields"]["pageName"] == "mpy-lobby"
    assert kc.verify() == []


def test_mpy_seek_past_a_quartile(kw_pages, kaltura_collector):
    """MicroPython page: seeking past 50% sends SEEK, 75 and 100 but no 25/50."""
    kc = kaltura_collector
    p = kw_pages(PAGE)
    p.wait_sdk_event("WIDGET_LOADED")
    p.video("v.play();")
    p.wait_video("v.currentTime > 0.1", "playback to pass 0.1 s")
    p.video("v.currentTime = 2.4;")
    p.wait_video("v.ended", "the video to end")
    evs = kc.wait_for_events(predicate=lambda evs: T["PLAY_REACHED_100"] in types(evs), service="stats")
    sid = evs[0]["session_id"]
    kc.assert_session(sid, ["WIDGET_LOADED", "MEDIA_LOADED", "PLAY", "SEEK", "PLAY_REACHED_75",
                            "PLAY_REACHED_100"])
    assert kc.verify() == []


def test_mpy_offline_then_online(kw_pages, kaltura_collector):
    """MicroPython page: offline for most of a playback, then online: every beacon arrives in order, stored once."""
    kc = kaltura_collector
    p = kw_pages(PAGE)
    sid = p.wait_ready()["players"][0]["sessionId"]
    p.wait_video("v.buffered.length && v.buffered.end(0) >= v.duration - 0.1", "the whole video to be buffered")
    p.video("v.play();")
    kc.wait_for_events(3, session_id=sid)  # WIDGET_LOADED, MEDIA_LOADED, PLAY
    p.context.set_offline(True)
    p.video("v.playbackRate = 2;")
    p.wait_video("v.ended", "the video to end")
    p.page.click("#cta")
    # the SDK holds the 100% beacon and the click (offline, nothing can leave): none is stored yet
    wait_until(lambda: queued_types(p.page), "PLAY_REACHED_100 and the click in the offline queue",
               until=lambda queued: {T["PLAY_REACHED_100"], 10002} <= set(queued))
    assert T["PLAY_REACHED_100"] not in types(kc.events(session_id=sid))
    p.context.set_offline(False)
    kc.wait_for_events(7, session_id=sid, timeout=20)
    kc.assert_session(sid, FULL)
    assert types(kc.wait_for_events(2, service="analytics")) == [10003, 10002]
    assert_stored_once(kc)
    assert kc.verify() == []


def test_mpy_backlog_survives_reload(kw_pages, kaltura_collector):
    """MicroPython page: clicks queued while the collector fails survive a reload (localStorage) and arrive once afterwards."""
    kc = kaltura_collector
    p = kw_pages(PAGE)
    old_session = p.wait_ready()["players"][0]["sessionId"]
    kc.wait_for_events(2)  # WIDGET_LOADED and PageLoad
    kc.faults.fail_all()
    for button in ("#cta", "#share", "#download"):
        p.page.click(button)
    wait_until(lambda: kc.faults.applied.get("total", 0), "a send failing at the collector")
    p.reload()  # the pagehide flush meets 500s too; the records stay queued
    kc.faults.clear()
    assert_clicks_survived_reload(kc, old_session)
    assert kc.verify() == []


def test_mpy_unload_flush(kw_pages, kaltura_collector):
    """MicroPython page: beacons queued behind failures leave with keepalive fetches when the page is navigated away."""
    kc = kaltura_collector
    p = kw_pages(PAGE)
    p.wait_ready()
    kc.wait_for_events(2)
    kc.faults.fail_next(1)
    clicked = time.time()
    p.page.click("#cta")  # first attempt fails: the retry waits BACKOFF[0] (1 s)
    wait_until(lambda: kc.faults.applied.get("total", 0), "the click's first send to fail")
    p.page.goto("about:blank")  # pagehide: the queued click goes with keepalive
    track = kc.wait_for_events(2, service="analytics", timeout=5)
    assert types(track) == [10003, 10002]
    assert track[1]["received_at"] < clicked + BACKOFF[0], "the click came with the retry, not the unload flush"
    assert_stored_once(kc)
    assert kc.verify() == []


def _hold(held):
    def handler(route):
        held.append(route)
    return handler


def test_mpy_early_click_and_play(kw_pages, kaltura_collector):
    """MicroPython page with the interpreter held back: a play and a CTA click before the SDK is ready arrive with their own (earlier) times, in order."""
    kc = kaltura_collector
    held = []
    p = kw_pages(PAGE, wait_ready=False,
                 setup=lambda p: p.page.route("**/micropython.wasm", _hold(held)))
    wait_in_page(p.page, "window.kalturaWebQueue !== undefined", "the inline snippet's queue")
    p.wait_video("v.readyState >= 1", "the video's metadata")
    p.video("v.play();")
    p.wait_video("v.currentTime > 0.3", "playback to pass 0.3 s")
    clicked = p.page.evaluate("() => { document.querySelector('#cta').click(); return Date.now() / 1000; }")
    assert p.page.evaluate("window.__kwReady") is None
    # the claim needs time between the click and the start: a click stamped at replay would show
    wait_clock_past(p.page, clicked + 0.3, "0.3 s to pass on the page's clock after the click")
    for route in held:
        route.continue_()
    p.page.unroute("**/micropython.wasm")
    ready = p.wait_ready()
    ready_epoch = p.page.evaluate("r => (performance.timeOrigin + r) / 1000", ready["readyAt"])
    assert ready["early"]["snippet"] and ready["early"]["replayed"] >= 3, ready["early"]
    play = p.wait_sdk_event("PLAY")[0]
    assert play["t"] < clicked < ready_epoch - 0.25
    sid = ready["players"][0]["sessionId"]
    stats = kc.wait_for_events(3, session_id=sid, service="stats")
    assert types(stats)[:3] == [T["WIDGET_LOADED"], T["MEDIA_LOADED"], T["PLAY"]]
    track = kc.wait_for_events(2, service="analytics")
    assert types(track) == [10003, 10002]
    replayed_click = [t for name, t in ready["early"]["records"] if name == "click"]
    assert replayed_click and abs(replayed_click[0] - clicked) < 0.05  # trackEvent has no time field
    assert int(stats[2]["fields"]["eventTimestamp"]) <= int(clicked)
    p.wait_video("v.ended", "the video to end")
    kc.wait_for_events(7, session_id=sid, service="stats")
    kc.assert_session(sid, FULL)
    assert kc.verify() == []


def test_mpy_cold_start_measurement(kw_pages, kaltura_collector):
    """Measures the MicroPython page's cold start to 'kaltura-web:ready' and bytes downloaded (appended to build/e2e/cold-start.jsonl)."""
    import json

    p = kw_pages(PAGE)
    ready = p.wait_ready()
    entries = p.page.evaluate("""() => performance.getEntriesByType('navigation')
        .concat(performance.getEntriesByType('resource'))
        .map(e => [e.name, e.encodedBodySize || e.transferSize || 0])""")
    size = sum(n for _name, n in entries)
    sdk = sum(n for name, n in entries if "/web/dist/kaltura_web.mpy" in name)
    result = {"page": PAGE, "ready_ms": round(ready["readyAt"]),
              "sdk_start_ms": round(ready["readyAt"] - ready["startedAt"]), "bytes": size, "sdk_bytes": sdk}
    results = ROOT / "build" / "e2e"
    results.mkdir(parents=True, exist_ok=True)
    with open(results / "cold-start.jsonl", "a") as fh:
        fh.write(json.dumps(result) + "\n")
    print(result)
    assert not [name for name, _n in entries if "/kaltura_web/collector" in name or "/cpython/" in name]
    assert ready["readyAt"] < 10_000 and 100_000 < size < 3_000_000
    kaltura_collector.wait_for_events(1, service="analytics")
