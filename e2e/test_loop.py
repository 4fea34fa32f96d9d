"""A looping <video> (lobby screens, signage): each pass is one complete playback.

The element never fires `ended`; at each wrap the browser seeks back to 0. kaltura_web
reports the end of the pass (100% when playing reached it), then a new playback: in guide
mode a new session with REPLAY and PLAY, in KAVA mode PAUSE and REPLAY in the same session,
as Player v7 does. The wrap is never reported as a SEEK; a user's seek is.
"""

import pytest

from e2e_helpers import assert_stored_once
from kaltura_web.core.catalog import STATS_EVENT_TYPES
from test_kava_portal import PATH, _route_production
from tests.readme import example

PASS = [3, 4, 5, 6, 7]  # PLAY, 25, 50, 75, 100


def _loop_two_passes(p):
    """Loop the 4-s clip at 2x until the SDK saw two wraps, then pause it."""
    p.video("v.loop = true; v.playbackRate = 2; v.play();")
    p.wait_sdk_event("REPLAY", count=2, timeout=30_000)
    p.video("v.pause();")
    p.wait_queued("== 0", "the queue to drain")


@pytest.mark.parametrize("path", ["/web/portal.html", "/web/portal-mpy.html"], ids=["pyodide", "micropython"])
def test_each_pass_of_a_looping_video_is_one_complete_playback(kw_pages, kaltura_collector, path):
    """Guide mode: pass 1 is PLAY..100 in one session, each wrap opens a new session with REPLAY, PLAY..100; no SEEK."""
    kc = kaltura_collector
    p = kw_pages(path)
    _loop_two_passes(p)
    stats = kc.events(service="stats")
    sessions = []
    for e in stats:
        if not sessions or sessions[-1][0] != e["session_id"]:
            sessions.append((e["session_id"], []))
        sessions[-1][1].append(e["event_type"])
    names = [[STATS_EVENT_TYPES[t] for t in types] for _, types in sessions]
    assert 17 not in [e["event_type"] for e in stats], names  # a wrap is never a SEEK
    assert len(sessions) >= 3, names
    assert [t for t in sessions[0][1] if t in PASS] == PASS, names
    assert sessions[1][1] == [16] + PASS, names  # REPLAY, then one complete playback
    assert sessions[2][1][:2] == [16, 3], names
    assert_stored_once(kc)
    assert kc.verify() == []


def test_a_user_seek_to_the_start_of_a_looping_video_is_a_seek(kw_pages, kaltura_collector):
    """Seeking to 0 from the middle of a looping video is a SEEK in the same session, not a replay."""
    kc = kaltura_collector
    p = kw_pages("/web/portal.html")
    p.video("v.loop = true; v.play();")
    p.wait_video("v.currentTime > 1.5", "playback to pass 1.5 s")
    p.video("v.currentTime = 0;")
    p.wait_sdk_event("SEEK")
    p.video("v.pause();")
    p.wait_queued("== 0", "the queue to drain")
    stats = kc.events(service="stats")
    assert 17 in [e["event_type"] for e in stats] and 16 not in [e["event_type"] for e in stats]
    assert len({e["session_id"] for e in stats}) == 1


def test_kava_mode_loops_as_player_v7(kw_pages, kaltura_collector):
    """KAVA mode: one session; each wrap is PAUSE (33) then REPLAY (34), never SEEK (35); eventIndex 1..n."""
    kc = kaltura_collector
    routed = []
    html = example("portal-kava").replace("kava.webm", "test.webm")
    p = kw_pages(PATH, setup=lambda page: _route_production(page, routed, html))
    _loop_two_passes(p)
    p.foreign[:] = [u for u in p.foreign if u not in routed]
    kava = [e for e in kc.events(service="analytics") if e["event_type"] < 10000]
    ids = [e["event_type"] for e in kava]
    assert ids[:4] == [1, 41, 2, 3] and 35 not in ids, ids  # SPEED: the rate is set before play()
    assert [i for i in ids if i in (11, 12, 13, 15, 14)] == [11, 12, 13, 15, 14], ids  # once per session
    wraps = [ids[n:n + 2] for n in range(len(ids) - 1) if ids[n] == 33 and ids[n + 1] == 34]
    assert len(wraps) >= 2, ids
    assert len({e["session_id"] for e in kava}) == 1
    assert [int(e["fields"]["eventIndex"]) for e in kava] == list(range(1, len(kava) + 1))
    assert_stored_once(kc)
    assert kc.verify() == []
