"""Protocol linter: each rule flags a crafted bad session; good sessions pass."""

import subprocess
import sys

import pytest

from kaltura_web.collector.linter import lint
from kaltura_web.collector.store import Store

_seq = [0]


def ev(session, event_type, ts=None, entry="0_e", user="u@example.com", service="stats", ks=True, **fields):
    _seq[0] += 1
    fields.setdefault("referrer", "https://app.example.com/p")
    return {"seq": _seq[0], "service": service, "session_id": session, "entry_id": entry,
            "event_type": event_type, "event_timestamp": ts if ts is not None else 1000 + _seq[0],
            "user_id": user if ks else None, "ks_masked": "djJ8MTAw…abcd" if ks else None,
            "fields": fields}


def rules(events):
    return [f.rule for f in lint(events)]


def good_session(sid="good"):
    return [ev(sid, 1), ev(sid, 2), ev(sid, 3, currentPoint=0, duration=100),
            ev(sid, 12), ev(sid, 13),
            ev(sid, 4, currentPoint=25, duration=100), ev(sid, 5, currentPoint=50, duration=100),
            ev(sid, 6, currentPoint=75, duration=100), ev(sid, 7, currentPoint=100, duration=100)]


def test_good_sessions_pass():
    """A full lifecycle session and a REPLAY session (new id, no loads) are clean."""
    replay = [ev("r", 16), ev("r", 3), ev("r", 4), ev("r", 5), ev("r", 6), ev("r", 7)]
    assert lint(good_session() + replay) == []


def test_play_without_load():
    """PLAY without WIDGET_LOADED and MEDIA_LOADED before it is flagged on the PLAY."""
    events = [ev("p", 1), ev("p", 3)]
    (f,) = lint(events)
    assert (f.rule, f.seq, f.event_type) == ("play-without-load", events[1]["seq"], 3)
    assert "MEDIA_LOADED" in f.message


def test_quartile_duplicate_and_order():
    """A repeated quartile, and a quartile after a higher one without a SEEK, are flagged."""
    s = [ev("q", 1), ev("q", 2), ev("q", 3), ev("q", 4), ev("q", 4)]
    assert rules(s) == ["quartile-duplicate"]
    s = [ev("o", 1), ev("o", 2), ev("o", 3), ev("o", 5)]
    assert rules(s) == ["quartile-order"]  # 50 without 25 and no seek
    s = [ev("o2", 1), ev("o2", 2), ev("o2", 3), ev("o2", 4), ev("o2", 6), ev("o2", 5)]
    assert "quartile-order" in rules(s)


def test_quartile_after_seek_back_is_fine():
    """Seek past 25/50 then play to 75, seek back and play to 25: all natural, no finding."""
    d = {"duration": 100}
    s = [ev("sb", 1), ev("sb", 2), ev("sb", 3, currentPoint=0, **d),
         ev("sb", 17, currentPoint=60, **d), ev("sb", 6, currentPoint=75, **d),
         ev("sb", 17, currentPoint=10, **d), ev("sb", 4, currentPoint=25, **d)]
    assert lint(s) == []


def test_quartile_reached_by_seek():
    """A SEEK to 60% followed straight by PLAY_REACHED_50 is flagged as reached by seeking."""
    d = {"duration": 100}
    s = [ev("k", 1), ev("k", 2), ev("k", 3, currentPoint=0, **d), ev("k", 4, currentPoint=25, **d),
         ev("k", 17, currentPoint=60, **d), ev("k", 5, currentPoint=60, **d)]
    found = lint(s)
    assert [f.rule for f in found] == ["quartile-by-seek"] and found[0].seq == s[-1]["seq"]
    # with natural progress in between (a position before the point), it is fine
    s2 = [ev("k2", 1), ev("k2", 2), ev("k2", 3, currentPoint=0, **d), ev("k2", 4, currentPoint=25, **d),
          ev("k2", 17, newPoint=45, currentPoint=30, **d), ev("k2", 12, currentPoint=46, **d),
          ev("k2", 13, currentPoint=46, **d), ev("k2", 5, currentPoint=50, **d)]
    assert lint(s2) == []


def test_split_playback():
    """Quartiles continuing in a new session id without REPLAY are flagged as one split playback."""
    a = [ev("A", 1), ev("A", 2), ev("A", 3), ev("A", 4), ev("A", 5)]
    b = [ev("B", 6), ev("B", 7)]
    found = lint(a + b)
    assert [f.rule for f in found] == ["split-playback"]
    assert found[0].session_id == "B" and "'A'" in found[0].message
    # another user's session is not a continuation
    c = [ev("C", 6, user="other@example.com")]
    assert [f.rule for f in lint(a + c)] == ["quartile-order"]


def test_buffer_end_without_start():
    """BUFFER_END with no open BUFFER_START is flagged."""
    s = [ev("b", 1), ev("b", 2), ev("b", 3), ev("b", 12), ev("b", 13), ev("b", 13)]
    found = lint(s)
    assert [f.rule for f in found] == ["buffer-end-without-start"] and found[0].seq == s[-1]["seq"]


def test_timestamp_backwards():
    """An eventTimestamp lower than an earlier one in the session is flagged."""
    s = [ev("t", 1, ts=100), ev("t", 2, ts=101), ev("t", 3, ts=99)]
    found = lint(s)
    assert [f.rule for f in found] == ["timestamp-backwards"] and found[0].seq == s[-1]["seq"]


def test_ks_without_user():
    """Events sent under a KS without userId are flagged; events without a KS are not."""
    s = [ev("a", 1, user=""), ev("a", 2, ks=False)]
    s[1]["user_id"] = None
    found = lint(s)
    assert [f.rule for f in found] == ["ks-without-user"] and found[0].seq == s[0]["seq"]


def test_application_events_skip_playback_rules():
    """Application trackEvents (10002, 10003) in a playback session are judged by no playback rule."""
    events = good_session("app") + [ev("app", 10003, service="analytics", pageType="lobby"),
                                    ev("app", 10002, service="analytics", buttonName="share")]
    assert lint(events) == []


def kava(session, event_type, index, **fields):
    """A KAVA playback event as stored (analytics.trackEvent, id below 10000, common parameters)."""
    fields = {"eventType": event_type, "partnerId": 100, "entryId": "0_e", "sessionId": session,
              "eventIndex": index, "position": fields.pop("position", 0), **fields}
    return ev(session, event_type, service="analytics", **fields)


def test_guide_rules_unchanged_beside_kava():
    """Guide rules judge only stats events: a KAVA session beside guide sessions changes none of their findings."""
    guide = good_session("g") + [ev("g2", 1), ev("g2", 3)]
    both = [kava("k:1", 1, 1), kava("k:1", 3, 2), kava("k:1", 99, 3, playTimeSum=0.1),
            kava("k:1", 4, 4, position=10), kava("k:1", 5, 5, position=12),
            kava("k:1", 11, 6, position=25), kava("k:1", 16, 7, position=25)]
    # KAVA 4 (RESUME), 5, 11 and 16 would be guide quartiles / seek / replay types: no guide rule sees them
    assert [(f.rule, f.session_id) for f in lint(guide + both, warnings=True)] == \
        [("play-without-load", "g2"), ("kb-required-field", "g"), ("kb-required-field", "g"),
         ("kb-required-field", "g2"), ("kb-required-field", "g2")]


def test_kava_session_is_no_split_playback_source():
    """A KAVA session with PLAY does not make a later guide session of the same entry and user a split playback."""
    events = [kava("k:2", 3, 1), kava("k:2", 99, 2, playTimeSum=0.1), ev("B", 6), ev("B", 7)]
    assert [(f.rule, f.session_id) for f in lint(events)] == [("quartile-order", "B")]


def test_duplicate_kava_beacon():
    """A repeated arrival of a KAVA beacon is a duplicate-beacon named as a KAVA event."""
    first = kava("k:3", 3, 1)
    again = dict(first, seq=first["seq"] + 1000, duplicate_of=first["seq"], beacon_id="b-3")
    (dup, index) = lint([first, again])
    assert (dup.rule, dup.seq) == ("duplicate-beacon", again["seq"]) and "KAVA PLAY(3)" in dup.message
    assert index.rule == "kava-event-index"


def test_verify_command_exit_codes(tmp_path):
    """`verify --db` prints findings and exits 1, or 0 for a clean database."""
    db = tmp_path / "v.db"
    store = Store(str(db))
    for e in good_session("ok"):
        store.insert(service="stats", fields=e["fields"], entry_id=e["entry_id"], event_type=e["event_type"],
                     session_id=e["session_id"], event_timestamp=e["event_timestamp"], user_id=e["user_id"])
    store.close()
    cmd = [sys.executable, "-m", "kaltura_web.collector", "verify", "--db", str(db)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    store = Store(str(db))
    store.insert(service="stats", fields={}, entry_id="0_e", event_type=3, session_id="bad", event_timestamp=1)
    store.close()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 1 and "play-without-load" in proc.stdout
