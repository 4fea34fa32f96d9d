"""Playback through the browser SDK into the local collector (PyScript pages)."""

import pytest

from kaltura_web.core.catalog import STATS_TYPE_BY_NAME as T
from e2e_helpers import types

QUARTILES = [T["PLAY_REACHED_25"], T["PLAY_REACHED_50"], T["PLAY_REACHED_75"], T["PLAY_REACHED_100"]]
REQUIRED = ("partnerId", "entryId", "eventType", "sessionId", "eventTimestamp")


def stats(kc, session_id=None):
    return kc.events(service="stats", session_id=session_id)


def play_to_end(p, rate=2.0, selector="video"):
    p.video(f"v.playbackRate = {rate}; v.play();", selector)
    p.wait_video("v.ended", "the video to end", selector=selector)


def wait_time(p, seconds, selector="video"):
    p.wait_video(f"v.currentTime > {seconds}", f"playback to pass {seconds} s", selector=selector)


@pytest.mark.parametrize("path,entry,app", [("/web/portal.html", "0_lobby001", "portal-demo"),
                                            ("/web/player.html", "0_custom01", "player-demo")])
def test_full_playback_then_replay(kw_pages, kaltura_collector, path, entry, app):
    """A full playback sends WIDGET_LOADED, MEDIA_LOADED, PLAY, 25/50/75/100 in order with the guide's fields; a replay is a new session REPLAY, PLAY, quartiles."""
    kc = kaltura_collector
    p = kw_pages(path)
    p.wait_sdk_event("WIDGET_LOADED")
    play_to_end(p)
    first = kc.wait_for_events(6, service="stats", predicate=lambda evs: T["PLAY_REACHED_100"] in types(evs))
    sid = first[0]["session_id"]
    kc.wait_for_events(7, session_id=sid)
    kc.assert_session(sid, ["WIDGET_LOADED", "MEDIA_LOADED", "PLAY"] + QUARTILES)
    for e in stats(kc, sid):
        f = e["fields"]
        assert all(f.get(k) not in (None, "") for k in REQUIRED), f
        assert f["entryId"] == entry and int(f["partnerId"]) == kc.partner_id
        assert f["referrer"] == kc.base_url + path
        assert f["clientVer"].startswith("kaltura_web:")
        assert e["user_id"] == "viewer@example.com" and e["app_id"] == app
        if e["event_type"] in QUARTILES:
            assert f["duration"] == "4"
            point = 4 * (QUARTILES.index(e["event_type"]) + 1) / 4
            assert abs(int(f["currentPoint"]) - point) <= 1, f
    # replay: a new session that starts REPLAY, PLAY
    play_to_end(p)
    kc.wait_for_events(predicate=lambda evs: len({e["session_id"] for e in evs}) == 2
                       and T["PLAY_REACHED_100"] in types([e for e in evs if e["session_id"] != sid]),
                       service="stats")
    second = [s for s in kc.sessions() if s != sid and s is not None]
    assert len(second) == 1
    kc.assert_session(second[0], ["REPLAY", "PLAY"] + QUARTILES)
    assert kc.verify() == []


def test_seek_past_half_then_back(kw_pages, kaltura_collector):
    """Seeking past 50% sends SEEK, 75 and 100 but no 25/50; seeking back and playing through sends each skipped quartile once."""
    kc = kaltura_collector
    p = kw_pages("/web/portal.html")
    p.wait_sdk_event("WIDGET_LOADED")
    # session 1: seek to 60 % right after the start, play to the end
    p.video("v.play();")
    wait_time(p, 0.1)
    p.video("v.currentTime = 2.4;")
    play_to_end(p, rate=1.0)
    evs = kc.wait_for_events(predicate=lambda evs: T["PLAY_REACHED_100"] in types(evs), service="stats")
    sid = evs[0]["session_id"]
    kc.assert_session(sid, ["WIDGET_LOADED", "MEDIA_LOADED", "PLAY", "SEEK", "PLAY_REACHED_75",
                            "PLAY_REACHED_100"])
    seek = [e for e in stats(kc, sid) if e["event_type"] == T["SEEK"]][0]["fields"]
    assert seek["seek"] in ("true", "1", True) and seek["currentPoint"] == "2"
    # session 2 (replay): seek to 60 %, reach 75 %, seek back to 10 %, play through
    p.video("v.playbackRate = 1; v.play();")
    p.wait_sdk_event("PLAY", count=2)
    wait_time(p, 0.1)
    p.video("v.currentTime = 2.4;")
    p.wait_sdk_event("PLAY_REACHED_75", count=2)
    p.video("v.currentTime = 0.4;")
    p.wait_video("v.ended", "the replay to end")
    kc.wait_for_events(predicate=lambda evs: types(evs).count(T["PLAY_REACHED_100"]) == 2, service="stats")
    sid2 = [s for s in kc.sessions() if s != sid][0]
    kc.assert_session(sid2, ["REPLAY", "PLAY", "SEEK", "PLAY_REACHED_75", "SEEK", "PLAY_REACHED_25",
                             "PLAY_REACHED_50", "PLAY_REACHED_100"])
    assert kc.verify() == []
