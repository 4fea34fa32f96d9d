"""The SDK on MicroPython (PyScript ``<script type="mpy">``, web/portal-mpy.html): same core, same edge."""

import shutil
from pathlib import Path

import pytest

from kaltura_web.catalog import STATS_TYPE_BY_NAME as T

ROOT = Path(__file__).resolve().parent.parent
MPY_DIST = ROOT / "web/dist/mpy/kaltura_web"
CORE = ("__init__", "_compat", "catalog", "delivery", "encoding", "protocol", "session", "tracker")
PAGE = "/web/portal-mpy.html"
QUARTILES = ["PLAY_REACHED_25", "PLAY_REACHED_50", "PLAY_REACHED_75", "PLAY_REACHED_100"]
FULL = ["WIDGET_LOADED", "MEDIA_LOADED", "PLAY"] + QUARTILES
REQUIRED = ("partnerId", "entryId", "eventType", "sessionId", "eventTimestamp")


@pytest.fixture(scope="module", autouse=True)
def mpy_sources():
    """The page loads the package from web/dist/mpy/ (what `make setup` copies); refresh it from the tree."""
    if MPY_DIST.exists():
        shutil.rmtree(MPY_DIST)
    (MPY_DIST / "browser").mkdir(parents=True)
    for name in CORE:
        shutil.copy(ROOT / "kaltura_web" / (name + ".py"), MPY_DIST / (name + ".py"))
    for path in (ROOT / "kaltura_web/browser").glob("*.py"):
        shutil.copy(path, MPY_DIST / "browser" / path.name)


def types(events):
    return [e["event_type"] for e in events]


def queued_in_storage(p):
    return p.page.evaluate("""Object.keys(localStorage).filter(k => k.includes(':q:'))
        .reduce((n, k) => n + JSON.parse(localStorage.getItem(k)).length, 0)""")


def test_mpy_full_playback(kw_pages, kaltura_collector):
    """MicroPython page: a full playback sends WIDGET_LOADED, MEDIA_LOADED, PLAY, 25/50/75/100 in order with the guide's fields; PageLoad and a click too."""
    kc = kaltura_collector
    p = kw_pages(PAGE)
    ready = p.wait_ready()
    assert p.page.evaluate("document.querySelector('script[type=mpy]') !== null")
    p.wait_sdk_event("WIDGET_LOADED")
    p.video("v.playbackRate = 2; v.play();")
    p.page.wait_for_function("document.querySelector('video').ended", timeout=20_000)
    sid = ready["players"][0]["sessionId"]
    kc.wait_for_events(7, session_id=sid)
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
