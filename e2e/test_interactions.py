"""Page events, buttons and the custom player's controls through the SDK."""

from pathlib import Path

import pytest

from kaltura_web.core.catalog import STATS_TYPE_BY_NAME as T
from e2e_helpers import types

MEDIA = (Path(__file__).resolve().parent.parent / "web/media/test.webm").read_bytes()


@pytest.mark.parametrize("path,page_name,app", [("/web/portal.html", "main-lobby", "portal-demo"),
                                                ("/web/pyodide.html", "pyodide-lobby", "pyodide-demo")])
def test_page_load_and_buttons(kw_pages, kaltura_collector, path, page_name, app):
    """PageLoad, a CTA click and share/download clicks are stored with the KS's userId and appId; share/download also send OPEN_VIRAL/OPEN_DOWNLOAD in the playback session."""
    kc = kaltura_collector
    p = kw_pages(path)
    session = p.wait_ready()["players"][0]["sessionId"]
    for button in ("#cta", "#share", "#download"):
        p.page.click(button)
    track = kc.wait_for_events(4, service="analytics")
    assert types(track) == [10003, 10002, 10002, 10002]
    load = track[0]["fields"]
    assert (load["pageType"], load["pageName"], load["kalturaApplication"]) == ("lobby", page_name, app)
    clicks = [(e["fields"]["buttonType"], e["fields"]["buttonName"]) for e in track[1:]]
    assert clicks == [("cta", "register-now"), ("share", "share-lobby-video"),
                      ("download", "download-lobby-video")]
    assert [e["fields"].get("entryId") for e in track[2:]] == ["0_lobby001", "0_lobby001"]
    for e in track:
        assert (e["user_id"], e["app_id"], e["partner_id"]) == ("viewer@example.com", app, kc.partner_id)
    played = kc.wait_for_events(3, session_id=session, service="stats")
    assert types(played) == [T["WIDGET_LOADED"], T["OPEN_VIRAL"], T["OPEN_DOWNLOAD"]] or \
        types(played) == [T["WIDGET_LOADED"], T["MEDIA_LOADED"], T["OPEN_VIRAL"], T["OPEN_DOWNLOAD"]]
    assert all(e["user_id"] == "viewer@example.com" for e in played)
    assert kc.verify() == []


def _held_media(held):
    """A route that serves the first part of the video and holds the rest (a stall)."""
    def handler(route):
        rng = route.request.headers.get("range") or "bytes=0-"
        start = int(rng.split("=")[1].split("-")[0])
        if start == 0:
            end = len(MEDIA) // 2
            route.fulfill(status=206, body=MEDIA[:end], headers={
                "Content-Type": "video/webm", "Accept-Ranges": "bytes",
                "Content-Range": f"bytes 0-{end - 1}/{len(MEDIA)}"})
        else:
            held.append((route, start))
    return handler


def _release(held):
    for route, start in held:
        route.fulfill(status=206, body=MEDIA[start:], headers={
            "Content-Type": "video/webm", "Accept-Ranges": "bytes",
            "Content-Range": f"bytes {start}-{len(MEDIA) - 1}/{len(MEDIA)}"})
    held.clear()


def test_custom_player_controls(kw_pages, kaltura_collector):
    """The custom player's pause/resume, captions, quality, fullscreen, share and a throttled-media stall reach the tracker and the collector."""
    kc = kaltura_collector
    held = []
    p = kw_pages("/web/player.html", setup=lambda p: p.page.route("**/web/media/test.webm", _held_media(held)))
    p.wait_sdk_event("WIDGET_LOADED")
    p.page.click("#play")
    p.wait_video("v.currentTime > 0.2", "playback to pass 0.2 s")
    p.page.click("#play")
    p.wait_sdk_event("PAUSE")
    p.page.click("#play")
    p.wait_sdk_event("RESUME")
    p.page.click("#captions")
    assert p.wait_sdk_event("CAPTIONS")[-1]["data"] == {"language": "en"}
    p.page.click("#quality")
    assert p.wait_sdk_event("FLAVOR_SWITCH")[-1]["data"] == {"bitrate": 800}
    p.page.click("#fullscreen")
    p.wait_sdk_event("ENTER_FULLSCREEN")
    p.page.click("#fullscreen")
    p.wait_sdk_event("EXIT_FULLSCREEN")
    p.page.click("#share")
    # the rest of the video is held back: the player stalls, then recovers
    p.wait_sdk_event("BUFFER_START")
    _release(held)
    p.wait_video("v.ended", "the video to end after the stall")
    sid = p.sdk_events("PLAY")[0]["sessionId"]
    evs = kc.wait_for_events(predicate=lambda evs: T["PLAY_REACHED_100"] in types(evs), session_id=sid)
    got = types(evs)
    for name in ("WIDGET_LOADED", "MEDIA_LOADED", "PLAY", "OPEN_FULL_SCREEN", "CLOSE_FULL_SCREEN",
                 "OPEN_VIRAL", "BUFFER_START", "BUFFER_END"):
        assert got.count(T[name]) == 1, (name, got)
    assert got.index(T["BUFFER_START"]) < got.index(T["BUFFER_END"])
    assert [t for t in got if T["PLAY_REACHED_25"] <= t <= T["PLAY_REACHED_100"]] == [4, 5, 6, 7]
    assert got.index(T["OPEN_FULL_SCREEN"]) < got.index(T["CLOSE_FULL_SCREEN"])
    track = kc.wait_for_events(2, service="analytics")
    assert [(e["event_type"], e["fields"].get("buttonName")) for e in track] == \
        [(10003, None), (10002, "share-player")]
    assert kc.verify() == []
