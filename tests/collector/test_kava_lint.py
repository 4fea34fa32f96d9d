"""KAVA lint rules: each rule fires on a crafted session, a clean KAVA playback passes."""

import json
import urllib.parse

from collector_helpers import http, post_json

from kaltura_web.collector.linter import ERROR, WARNING, lint

T0 = 1700000000.0
ENTRY = "1_kava"
USER = "viewer@example.com"
PLAY, PAUSE, RESUME, REPLAY, VIEW = 3, 33, 4, 34, 99


class Session:
    """Builds the stored form of one KAVA session's events (as the collector stores a trackEvent)."""

    seq = 0

    def __init__(self, sid="page-guid:media-guid"):
        self.sid, self.index, self.events = sid, 0, []

    def add(self, event_type, at, index=None, position=0.0, **fields):
        """Append an event ``at`` seconds after T0; eventIndex counts up unless given."""
        Session.seq += 1
        self.index = self.index + 1 if index is None else index
        body = {"eventType": event_type, "partnerId": 100, "entryId": ENTRY, "sessionId": self.sid,
                "eventIndex": self.index, "position": position, **fields}
        body = {k: v for k, v in body.items() if v is not None}
        self.events.append({"seq": Session.seq, "service": "analytics", "session_id": self.sid,
                            "entry_id": ENTRY, "event_type": event_type, "event_timestamp": T0 + at,
                            "received_at": T0 + 5000 + Session.seq, "user_id": USER, "ks_masked": None,
                            "fields": body, "duplicate_of": None})
        return self.events[-1]


def clean_playback(sid="page-guid:media-guid"):
    """IMPRESSION .. PLAY, VIEW at once and every 10 s, quartiles, PAUSE: as Player v7 sends a 40 s clip."""
    s = Session(sid)
    s.add(1, 0)
    s.add(2, 1)
    s.add(PLAY, 1.5)
    s.add(VIEW, 1.6, playTimeSum=0.1)
    s.add(11, 11, position=10)
    s.add(VIEW, 11.6, position=10.1, playTimeSum=10.1)
    s.add(12, 21, position=20)
    s.add(VIEW, 21.6, position=20.1, playTimeSum=20.1)
    s.add(13, 31, position=30)
    s.add(VIEW, 31.6, position=30.1, playTimeSum=30.1)
    s.add(15, 37, position=36)
    s.add(14, 41, position=40)
    s.add(PAUSE, 41.2, position=40)
    return s


def found(events, warnings=False):
    return [(f.rule, f.seq) for f in lint(events, warnings=warnings)]


def test_clean_playback_passes():
    """A whole KAVA playback (indices 1..n, VIEWs 10 s apart with growing playTimeSum) has no finding at all."""
    assert lint(clean_playback().events, warnings=True) == []


def test_required_params():
    """A KAVA event without eventIndex, position, entryId or sessionId, or with a position that is no number, is flagged."""
    s = clean_playback()
    no_index = s.add(PAUSE, 50, index=None)
    no_index["fields"].pop("eventIndex")
    bad_position = s.add(RESUME, 51, position="start")
    orphan = Session(None).add(1, 0)
    orphan["fields"].pop("entryId")
    orphan["entry_id"] = None
    findings = lint(s.events + [orphan])
    assert [(f.rule, f.seq) for f in findings] == [
        ("kava-required-param", no_index["seq"]), ("kava-required-param", bad_position["seq"]),
        ("kava-required-param", orphan["seq"])]
    assert "eventIndex" in findings[0].message and "'start'" in findings[1].message
    assert "entryId, sessionId" in findings[2].message


def test_missing_index_leaves_room_in_the_count():
    """After an event that lacks eventIndex the next one may skip its number: one finding, not two."""
    s = Session()
    s.add(1, 0)
    s.add(2, 1)["fields"].pop("eventIndex")
    s.add(PLAY, 2)
    assert [rule for rule, _ in found(s.events)] == ["kava-required-param"]


def test_event_index_gap_repeat_and_start():
    """A number that never arrived, a repeat, a first event not at 1 and an index that is no whole number are each flagged once."""
    s = Session("gap")
    s.add(1, 0)
    gap = s.add(2, 1, index=3)
    s.add(PLAY, 2)  # 4 follows 3: one gap is one finding
    repeat = s.add(VIEW, 2.1, index=4, playTimeSum=0.1)
    late = Session("late")
    first = late.add(1, 0, index=2)
    text = late.add(2, 1, index="two")
    findings = lint(s.events + late.events)
    assert sorted((f.rule, f.seq) for f in findings) == [
        ("kava-event-index", gap["seq"]), ("kava-event-index", repeat["seq"]),
        ("kava-event-index", first["seq"]), ("kava-event-index", text["seq"])]
    messages = {f.seq: f.message for f in findings}
    assert "eventIndex 2 of this count never arrived" in messages[gap["seq"]]
    assert "eventIndex 1 of this count never arrived" in messages[first["seq"]]
    assert "repeats eventIndex 4" in messages[repeat["seq"]] and "'two'" in messages[text["seq"]]


def test_swapped_arrivals_are_no_finding():
    """Events sent at once may arrive swapped (PLAY's VIEW before PLAY, 2 before 1): the count is judged as a set."""
    s = Session()
    s.add(2, 0.5, index=2)
    s.add(1, 0.5, index=1)
    s.add(VIEW, 1.5, index=4, playTimeSum=0.1)
    s.add(PLAY, 1.5, index=3)
    s.add(11, 10, index=5, position=10)
    assert lint(s.events) == []


def test_restart_after_30_seconds_is_a_reset():
    """eventIndex back at 1 with playTimeSum from 0 after >= 30 s without events is KAVA's reset, not a finding."""
    s = clean_playback()
    s.add(RESUME, 41.2 + 30, index=1, position=40)
    s.add(VIEW, 71.3, position=40, playTimeSum=0.1)
    s.add(VIEW, 81.3, position=50, playTimeSum=10.1)
    assert lint(s.events, warnings=True) == []


def test_restart_sooner_than_30_seconds_is_flagged():
    """eventIndex back at 1 less than 30 s after the previous event is a violation."""
    s = clean_playback()
    restart = s.add(RESUME, 41.2 + 29.5, index=1, position=40)
    (f,) = lint(s.events)
    assert (f.rule, f.seq, f.severity) == ("kava-event-index", restart["seq"], ERROR)
    assert "29.5 s" in f.message


def test_restart_judged_by_arrival_without_event_timestamps():
    """Without eventTimestamp (Player v7 sends none) the arrival times decide whether a restart is a reset."""
    s = Session()
    s.add(1, 0)
    s.add(2, 1)
    restart = s.add(1, 2, index=1)
    for ev, arrival in zip(s.events, (100.0, 101.0, 140.0)):
        ev["event_timestamp"], ev["received_at"] = None, arrival
    assert found(s.events) == []
    restart["received_at"] = 110.0
    assert found(s.events) == [("kava-event-index", restart["seq"])]


def test_view_too_soon():
    """A VIEW less than 8 s after the previous VIEW of the session is flagged."""
    s = Session()
    s.add(PLAY, 0)
    s.add(VIEW, 0.1, playTimeSum=0.1)
    s.add(VIEW, 10.1, position=10, playTimeSum=10.1)
    soon = s.add(VIEW, 15.1, position=15, playTimeSum=15.1)
    s.add(VIEW, 25.1, position=25, playTimeSum=25.1)
    assert found(s.events) == [("kava-view-too-soon", soon["seq"])]


def test_view_without_progress():
    """A VIEW whose playTimeSum is not above the previous VIEW's is flagged."""
    s = clean_playback()
    stuck = s.add(VIEW, 51.6, position=40, playTimeSum=30.1)
    assert found(s.events) == [("kava-view-no-progress", stuck["seq"])]


def test_missing_views_are_a_warning():
    """PLAY then 25 s of playing with no VIEW is a warning (never a violation); 15 s is not."""
    s = Session()
    s.add(1, 0)
    s.add(2, 1)
    play = s.add(PLAY, 2)
    s.add(11, 12, position=10)
    s.add(12, 27, position=25)
    assert found(s.events) == []
    (f,) = lint(s.events, warnings=True)
    assert (f.rule, f.seq, f.severity) == ("kava-view-missing", play["seq"], WARNING)
    short = Session("short")
    short.add(1, 0)
    short.add(PLAY, 1)
    short.add(11, 16, position=15)
    assert lint(short.events, warnings=True) == []


def test_paused_time_is_not_playing_time():
    """Time between PAUSE and RESUME does not count towards the 20 s after which a VIEW is expected."""
    s = Session()
    s.add(PLAY, 0)
    s.add(PAUSE, 10, position=10)
    s.add(RESUME, 25, position=10)
    s.add(PAUSE, 34, position=19)
    assert lint(s.events, warnings=True) == []
    s.add(RESUME, 40, position=19)
    s.add(11, 52, position=31)
    assert [f.rule for f in lint(s.events, warnings=True)] == ["kava-view-missing"]


def test_quartile_before_play():
    """A quartile (11-15) with no PLAY before it in the session is flagged."""
    s = Session()
    s.add(1, 0)
    early = s.add(11, 1, position=10)
    s.add(PLAY, 2)
    s.add(VIEW, 2.1, playTimeSum=0.1)
    s.add(12, 5, position=20)
    assert found(s.events) == [("kava-quartile-before-play", early["seq"])]


def test_replay_needs_a_play_in_the_same_session():
    """REPLAY in a session that had a PLAY is fine; REPLAY in a session without one is flagged."""
    s = clean_playback()
    s.add(REPLAY, 45, position=0)
    s.add(VIEW, 45.1, playTimeSum=40.2)
    assert lint(s.events, warnings=True) == []
    other = Session("replay-only")
    other.add(1, 0)
    replay = other.add(REPLAY, 1)
    assert found(clean_playback("first").events + other.events) == [("kava-replay-without-play", replay["seq"])]


def test_application_events_in_a_kava_session():
    """An application event in a KAVA session joins the eventIndex count only when it carries one."""
    s = clean_playback()
    click = s.add(10002, 42, buttonName="share")
    click["fields"].pop("eventIndex")
    s.index -= 1
    s.add(PAUSE, 43, position=40)
    assert lint(s.events, warnings=True) == []
    s.add(10002, 44, buttonName="share")  # carries the next index
    s.add(PAUSE, 45, index=s.index, position=40)  # repeats it
    assert [rule for rule, _ in found(s.events)] == ["kava-event-index"]


def test_guide_rules_leave_kava_events_alone():
    """KAVA ids are not stats.collect types: a KAVA PLAY needs no loads, KAVA 11-15 are no guide quartiles."""
    s = Session()
    s.add(PLAY, 0)
    s.add(VIEW, 0.1, playTimeSum=0.1)
    s.add(12, 5, position=20)
    s.add(12, 6, position=20)  # a repeated quartile: no KAVA rule about it, and no guide rule applies
    s.add(46, 7, position=21)  # BUFFER_END without BUFFER_START: a guide rule only
    assert lint(s.events, warnings=True) == []


# -- through the collector, in the wire format of KAVA mode ---------------------------------

def send(kc, event_type, session, index, at, ks, **body):
    """POST one KAVA event as kaltura_web's KAVA mode does: ids in the query string, the rest as JSON."""
    query = urllib.parse.urlencode({"service": "analytics", "action": "trackEvent", "eventType": event_type,
                                    "partnerId": kc.partner_id, "entryId": ENTRY, "sessionId": session})
    payload = {"eventIndex": index, "position": body.pop("position", 0.0), "playbackType": "vod",
               "deliveryType": "url", "playbackSpeed": 1, "clientVer": "kaltura_web:0.1.0",
               "referrer": "https://portal.example.com/watch", "userId": USER, "ks": ks,
               "sessionStartTime": int(T0), "eventTimestamp": T0 + at, **body}
    status, _, answer = post_json(f"{kc.analytics_url}/api_v3/index.php?{query}", payload)
    assert status == 200 and "viewEventsEnabled" in json.loads(answer), answer


def send_playback(kc, session, ks):
    """A clean KAVA playback of 25 s: IMPRESSION, PLAY_REQUEST, PLAY, VIEW, 25%, VIEW, 50%, VIEW, PAUSE."""
    steps = [(1, 0, {}), (2, 1, {}), (PLAY, 1.5, {}), (VIEW, 1.6, {"playTimeSum": 0.1}),
             (11, 8, {"position": 6.5}), (VIEW, 11.6, {"playTimeSum": 10.1, "position": 10.1}),
             (12, 14.5, {"position": 13}), (VIEW, 21.6, {"playTimeSum": 20.1, "position": 20.1}),
             (PAUSE, 25, {"position": 23.5})]
    for index, (event_type, at, body) in enumerate(steps, start=1):
        send(kc, event_type, session, index, at, ks, beaconId=f"{session}-{index}", **body)
    return len(steps)


def test_collector_lints_a_clean_kava_playback(kaltura_collector):
    """A KAVA playback POSTed to the collector is stored as analytics events and lints clean, warnings included."""
    kc = kaltura_collector
    count = send_playback(kc, "pg:clean", kc.ks(USER))
    assert len(kc.events(service="analytics", session_id="pg:clean")) == count
    assert kc.verify(warnings=True) == []
    answer = json.loads(http("GET", kc.base_url + "/dev/verify")[2])
    assert answer == {"ok": True, "findings": [], "warnings": []}


def test_collector_flags_kava_violations(kaltura_collector):
    """/dev/verify names the KAVA rule, session and event of a VIEW sent too soon and of a REPLAY without PLAY."""
    kc = kaltura_collector
    ks = kc.ks(USER)
    send_playback(kc, "pg:bad", ks)
    send(kc, VIEW, "pg:bad", 10, 26, ks, playTimeSum=23.5, position=23.5)
    send(kc, REPLAY, "pg:replay", 1, 0, ks)
    answer = json.loads(http("GET", kc.base_url + "/dev/verify")[2])
    assert not answer["ok"]
    assert [(f["rule"], f["session_id"], f["event_type"]) for f in answer["findings"]] == [
        ("kava-view-too-soon", "pg:bad", VIEW), ("kava-replay-without-play", "pg:replay", REPLAY)]


def test_repeated_kava_beacon_is_a_duplicate(kaltura_collector):
    """A KAVA beacon sent twice (same beaconId) is stored twice and flagged duplicate-beacon, and its index repeats."""
    kc = kaltura_collector
    ks = kc.ks(USER)
    send_playback(kc, "pg:dup", ks)
    send(kc, PAUSE, "pg:dup", 9, 25, ks, beaconId="pg:dup-9", position=23.5)
    assert kc.verify() == []  # the handle shows each beacon once
    assert [f.rule for f in kc.verify(duplicates=True)] == ["duplicate-beacon", "kava-event-index"]
    assert kc.duplicates() == ["pg:dup-9"]


def test_player_v7_get_request_is_linted(kaltura_collector):
    """Player v7's GET (every parameter in the query string, no eventTimestamp) is judged on its text values."""
    kc = kaltura_collector
    for index, event_type in enumerate((1, 2, PLAY), start=1):
        query = urllib.parse.urlencode({
            "service": "analytics", "action": "trackEvent", "eventType": event_type, "partnerId": kc.partner_id,
            "entryId": ENTRY, "sessionId": "v7:page", "eventIndex": index, "position": "0",
            "playbackType": "vod", "clientVer": "3.17.95"})
        assert http("GET", f"{kc.analytics_url}/api_v3/index.php?{query}")[0] == 200
    assert kc.verify(warnings=True) == []
    query = urllib.parse.urlencode({"service": "analytics", "action": "trackEvent", "eventType": 11,
                                    "partnerId": kc.partner_id, "entryId": ENTRY, "sessionId": "v7:other",
                                    "eventIndex": 1})
    assert http("GET", f"{kc.analytics_url}/api_v3/index.php?{query}")[0] == 200
    assert [f.rule for f in kc.verify()] == ["kava-required-param", "kava-quartile-before-play"]
