"""Reports computed from KAVA playback events (Player v7's analytics.trackEvent model).

The sessions are sent to the collector the way kaltura_web's KAVA mode sends them
(a POST whose query string carries eventType, partnerId, entryId and sessionId, the
rest as a JSON body), and one the way Player v7 does (a GET, everything in the query
string).  Every expected number is worked out by hand below; docs/reports.md gives
the formulas.

T = 1700000000.  Entry 1_k is 40 s long (bob's stats.collect twin says so, and so
do the KAVA quartile positions); entry 1_m is 120 s long (carol's stats.collect
events say so; ann's late 25 % event alone would suggest 124 s).

| session | protocol | user  | app            | entry | what happens                                   | time   |
|---------|----------|-------|----------------|-------|------------------------------------------------|--------|
| K1      | KAVA     | ann   | portal (event) | 1_k   | plays to the end, replays, pauses > 30 s, resumes | T      |
| K2      | KAVA     | bob   | portal (KS)    | 1_k   | plays to 50 % ("both" mode, twin of S2)        | T+1000 |
| S2      | stats    | bob   | portal (KS)    | 1_k   | the same playback through stats.collect        | T+1000 |
| S3      | stats    | carol | kiosk (KS)     | 1_m   | plays to the end (duration 120)                | T+2000 |
| K4      | KAVA     | ann   | kms (event)    | 1_m   | plays 32 s, its 25 % fired late at 31 s        | T+3000 |
"""

import json
import urllib.parse

import pytest

from collector_helpers import http, post_json, stats_fields

from kaltura_web.collector.playback import (BOTH_MODE_SLACK, KAVA, STATS, covers, percentile_range,
                                            split_sessions)

T = 1700000000
PAGE = "https://portal.example/watch"

# (eventType, position, extra body fields); eventTimestamp = session start + index (+ gaps)
K1 = [(1, 0, {}), (2, 0, {}), (3, 0, {}), (99, 0, {"playTimeSum": 0}), (21, 5, {}),
      (11, 10, {}), (99, 10, {"playTimeSum": 10}), (12, 20, {}), (99, 20, {"playTimeSum": 20}),
      (13, 30, {}), (99, 30, {"playTimeSum": 30}), (14, 40, {}), (33, 40, {}),
      (34, 0, {}), (99, 10, {"playTimeSum": 40}), (11, 10, {}), (33, 12, {}),
      # more than 30 s paused: KAVA resets its counters in the same session
      (4, 12, {"gap": 40}), (99, 17, {"playTimeSum": 5})]
K2 = [(1, 0, {}), (2, 0, {}), (3, 0, {}), (99, 0, {"playTimeSum": 0}), (11, 10, {}),
      (99, 10, {"playTimeSum": 10}), (12, 20, {}), (33, 21, {})]
S2 = [(1, 0), (2, 0), (3, 0), (4, 10), (5, 20)]
S3 = [(1, 0), (2, 0), (3, 0), (4, 30), (5, 60), (6, 90), (7, 120)]
K4 = [(1, 0, {}), (3, 0, {}), (99, 0, {"playTimeSum": 0}), (99, 10, {"playTimeSum": 10}),
      (99, 20, {"playTimeSum": 20}), (99, 30, {"playTimeSum": 30}), (11, 31, {}), (33, 32, {})]

# Worked out by hand (formulas in docs/reports.md):
# K1: duration 40 (the entry's); 5 quartile events (25 twice:
#     the replay reached it again) x 40/4 = 50 s; VIEW play time 10+10+10+10 then 5 after
#     the reset = 45 s; percentiles [0,10] [10,20] [20,30] [0,10] [12,17] -> 0..74 = 75;
#     1 play, 1 impression, 1 share.
# K2: duration 40; 2 quartile events = 20 s; play time 10 s; percentiles 0..24 = 25.
# S2: covered by K2 (same entry and user, same time): left out.
# S3: 4 quartile events x 120/4 = 120 s; furthest point 120 s; percentiles 100.
# K4: duration 120 from the entry (not 31/0.25 = 124); 1 quartile event = 30 s; play time
#     30 s; percentiles [0,10] [10,20] [20,30] of 120 s -> 0..24 = 25.
TOP_CONTENT = ("1_k,1_k,2,1.1667,0.5833,2,1,0.875,2,0.9167,0.4583,50;"
               "1_m,1_m,2,2.5,1.25,2,1,0.625,2,2.5,1.25,62.5;")
USER_TOP_CONTENT = ("ann,ann,2,2,1.3333,0.6667,0.75,2,1,50,1,75,1.25,0.625;"
                    "bob,bob,1,1,0.3333,0.3333,0.5,1,1,25,0,25,0.1667,0.1667;"
                    "carol,carol,1,1,2,2,1,1,1,100,0,100,2,2;")
USER_TOTAL = "3,2,4,3.6667,0.9167,0.75,4,1,56.25,1,3,3.4167,0.8542"
# engagement: 1_k 5*2/2 + 2.5*2/2 + 50*0.025 = 8.75; 1_m 5 + 2.5 + 62.5*0.025 = 9.0625
CREATOR = ("1_k,1_k,,,,,40000,,2,1.1667,0.5833,2,1,0.875,2,8.75,50,2,0.9167,0.4583,75;"
           "1_m,1_m,,,,,120000,,2,2.5,1.25,2,1,0.625,2,9.0625,62.5,2,2.5,1.25,100;")


def kava_url(kc, event_type, session, entry):
    """The trackEvent URL kaltura_web's KAVA mode posts to (the rest goes in the body)."""
    query = urllib.parse.urlencode({"service": "analytics", "action": "trackEvent", "eventType": event_type,
                                    "partnerId": kc.partner_id, "entryId": entry, "sessionId": session})
    return f"{kc.analytics_url}/api_v3/index.php?{query}"


def send_kava(kc, session, entry, start, events, ks, **common):
    """POST one KAVA session, eventIndex from 1 (and from 1 again after a reset)."""
    t, index = start, 0
    for event_type, position, extra in events:
        extra = dict(extra)
        if "gap" in extra:
            t, index = t + extra.pop("gap"), 0
        t, index = t + 1, index + 1
        body = {"eventIndex": index, "position": position, "playbackType": "vod", "deliveryType": "url",
                "playbackSpeed": 1, "clientVer": "kaltura_web:0.1.0", "referrer": PAGE, "ks": ks,
                "sessionStartTime": start, "eventTimestamp": t, **common, **extra}
        status, _, answer = post_json(kava_url(kc, event_type, session, entry), body)
        assert status == 200, answer


def send_stats(kc, session, entry, start, events, ks, duration, **extra):
    """POST one stats.collect session (the guide's protocol)."""
    collect = kc.service_url + "/service/stats/action/collect"
    for i, (event_type, point) in enumerate(events):
        fields = stats_fields(kc, session, event_type, entry_id=entry, ks=ks, currentPoint=point,
                              duration=duration, **extra)
        fields["event[eventTimestamp]"] = str(start + i)
        status, _, body = http("POST", collect, fields)
        assert status == 200 and body == b"null", body


@pytest.fixture
def loaded(kaltura_collector):
    """The collector with the sessions of the module docstring stored."""
    kc = kaltura_collector
    send_kava(kc, "pg1:m1", "1_k", T, K1, kc.ks("ann"), userId="ann", kalturaApplication="portal")
    bob_ks = kc.ks("bob", app_id="portal")
    send_kava(kc, "pg2:m1", "1_k", T + 1000, K2, bob_ks, userId="bob")
    send_stats(kc, "g2", "1_k", T + 1000, S2, bob_ks, 40, userId="bob")
    send_stats(kc, "g3", "1_m", T + 2000, S3, kc.ks("carol", app_id="kiosk"), 120)
    send_kava(kc, "pg3:m2", "1_m", T + 3000, K4, kc.ks("ann"), userId="ann", application="kms")
    kc.wait_for_events(len(K1) + len(K2) + len(S2) + len(S3) + len(K4))
    return kc


def report(kc, action, report_type, ks=None, **extra):
    """POST report.<action> (JSON answer) over the fixture's time range."""
    fields = {"ks": ks or kc.ks("admin@example.com", ks_type=2), "format": "1", "reportType": str(report_type),
              "reportInputFilter[objectType]": "KalturaEndUserReportInputFilter",
              "reportInputFilter[fromDate]": str(T - 10), "reportInputFilter[toDate]": str(T + 100000),
              **{k: str(v) for k, v in extra.items()}}
    status, _, body = http("POST", f"{kc.service_url}/service/report/action/{action}", fields)
    assert status == 200
    return json.loads(body)


def test_top_content_from_kava(loaded):
    """TOP_CONTENT counts KAVA sessions from their own events and the twin stats.collect session not at all."""
    table = report(loaded, "getTable", 1)
    assert table["header"].endswith("unique_known_users,sum_view_period,avg_view_period_time,avg_completion_rate")
    assert (table["data"], table["totalCount"]) == (TOP_CONTENT, 2)


def test_content_dropoff_counts_every_quartile_event(loaded):
    """A KAVA replay reaching 25 % again is a second 25 % event, as Kaltura counts it."""
    table = report(loaded, "getTable", 2, **{"reportInputFilter[entryIdIn]": "1_k"})
    assert table["data"] == "1_k,1_k,2,3,2,1,1,0.5,2;"


def test_user_top_content_from_kava(loaded):
    """USER_TOP_CONTENT reads the KAVA userId; getTotal adds unique_viewers."""
    assert report(loaded, "getTable", 13)["data"] == USER_TOP_CONTENT
    total = report(loaded, "getTotal", 13)
    assert total["header"].split(",")[-3:] == ["unique_viewers", "sum_view_period", "avg_view_period_time"]
    assert total["data"] == USER_TOTAL


def test_top_content_creator_from_kava(loaded):
    """TOP_CONTENT_CREATOR: KAVA sessions take the entry's duration from its stats.collect events, not a guess."""
    assert report(loaded, "getTable", 38)["data"] == CREATOR


def test_applications_from_kava_and_stats(loaded):
    """APPLICATIONS lists the KAVA kalturaApplication/application fields and the KS appIds; getTotal fails as on Kaltura."""
    assert report(loaded, "getTable", 16)["data"] == "kiosk;kms;portal;"
    failed = report(loaded, "getTotal", 16)
    assert (failed["code"], failed["message"]) == ("INTERNAL_SERVERL_ERROR", "Internal server error occurred")


def test_summary_names_the_protocols(loaded):
    """/dev/summary counts sessions per protocol and the stats.collect session a KAVA one covered."""
    body = json.loads(http("GET", loaded.base_url + f"/dev/summary?from={T - 10}&to={T + 100000}")[2])
    totals = body["totals"]
    assert totals["protocols"] == {"kava": 3, "stats": 1} and totals["coveredStatsSessions"] == 1
    assert (totals["plays"], totals["minutesViewed"], totals["avgCompletion"]) == (4, 3.4167, 0.5625)


def test_official_client_reads_the_new_columns(loaded):
    """Kaltura's official Python client reads today's columns, and gets Kaltura's error for APPLICATIONS getTotal."""
    import KalturaClient as kaltura
    from KalturaClient.exceptions import KalturaException
    from KalturaClient.Plugins.Core import (KalturaEndUserReportInputFilter, KalturaFilterPager,
                                            KalturaReportResponseOptions, KalturaReportType)

    config = kaltura.KalturaConfiguration(loaded.partner_id)
    config.serviceUrl = loaded.base_url
    client = kaltura.KalturaClient(config)
    client.setKs(loaded.ks("admin@example.com", ks_type=2))
    flt = KalturaEndUserReportInputFilter(fromDate=T - 10, toDate=T + 100000)
    options = KalturaReportResponseOptions(delimiter="|")
    pager = KalturaFilterPager(pageSize=10, pageIndex=1)

    users = client.report.getTable(KalturaReportType.USER_TOP_CONTENT, flt, pager, NotImplemented,
                                   NotImplemented, options)
    header = users.header.split("|")
    assert header[:2] == ["name", "full_name"] and users.totalCount == 3
    rows = [dict(zip(header, row.split("|"))) for row in users.data.split(";") if row]
    assert [(r["name"], r["total_completion_rate"], r["sum_view_period"], r["avg_view_period_time"])
            for r in rows] == [("ann", "75", "1.25", "0.625"), ("bob", "25", "0.1667", "0.1667"),
                               ("carol", "100", "2", "2")]
    total = client.report.getTotal(KalturaReportType.USER_TOP_CONTENT, flt)
    assert dict(zip(total.header.split(","), total.data.split(",")))["unique_viewers"] == "3"

    creator = client.report.getTable(KalturaReportType.TOP_CONTENT_CREATOR, flt, pager, "-count_plays",
                                     NotImplemented, options)
    assert creator.data == CREATOR.replace(",", "|")
    content = client.report.getTable(KalturaReportType.TOP_CONTENT, flt, pager)
    columns = dict(zip(content.header.split(","), content.data.split(";")[0].split(",")))
    assert (columns["sum_view_period"], columns["avg_completion_rate"]) == ("0.9167", "50")

    with pytest.raises(KalturaException) as failed:
        client.report.getTotal(KalturaReportType.APPLICATIONS, flt)
    assert failed.value.code == "INTERNAL_SERVERL_ERROR"


def test_kava_attribution_event_first_then_ks(kaltura_collector):
    """A KAVA event counts for its own userId/kalturaApplication, else for the KS user and appId."""
    kc = kaltura_collector
    ks = kc.ks("dave", app_id="kiosk")
    send_kava(kc, "a:1", "1_a", T, [(1, 0, {}), (3, 0, {})], ks)
    send_kava(kc, "a:2", "1_a", T + 100, [(1, 0, {}), (3, 0, {})], ks, userId="erin", kalturaApplication="portal")
    kc.wait_for_events(4)
    assert [(e["user_id"], e["app_id"]) for e in kc.events()] == [("dave", "kiosk")] * 2 + [("erin", "portal")] * 2
    users = report(kc, "getTable", 13)["data"]
    assert [row.split(",")[:4] for row in users.split(";") if row] == [["dave", "dave", "1", "1"],
                                                                      ["erin", "erin", "1", "1"]]
    assert report(kc, "getTable", 16)["data"] == "kiosk;portal;"
    kiosk_only = report(kc, "getTable", 13, ks=kc.ks("dave", app_id="kiosk"))
    assert kiosk_only["totalCount"] == 1 and kiosk_only["data"].startswith("dave,")


def test_player_v7_get_counts_like_a_post(kaltura_collector):
    """Player v7's GET (every parameter in the query string, no eventTimestamp) is counted at its arrival time."""
    kc = kaltura_collector
    for index, (event_type, extra) in enumerate(((1, {}), (3, {}), (99, {"playTimeSum": 0}),
                                                 (99, {"playTimeSum": 9.5})), start=1):
        query = {"eventIndex": index, "position": 9.5 if extra.get("playTimeSum") else 0, "playbackType": "vod",
                 "userId": "fay", "kalturaApplication": "player-v7", "ks": kc.ks("fay"), **extra}
        status, _, answer = http("GET", kava_url(kc, event_type, "v7:1", "1_v") + "&" + urllib.parse.urlencode(query))
        assert status == 200, answer
    kc.wait_for_events(4)
    arrived = kc.events()[0]["received_at"]
    table = report(kc, "getTable", 13, **{"reportInputFilter[fromDate]": int(arrived) - 60,
                                           "reportInputFilter[toDate]": int(arrived) + 3600})
    # 1 play, 1 impression, no quartile, 9.5 s played (0.1583 min), no duration known: no percentiles
    assert table["data"] == "fay,fay,1,1,0,0,0,1,1,0,0,0,0.1583,0.1583;"


# -- the rules on their own (pure functions over events as the store returns them) ------------

def _event(seq, service, event_type, session, t, user="u", entry="e", **fields):
    return {"seq": seq, "service": service, "event_type": event_type, "session_id": session, "entry_id": entry,
            "event_timestamp": t, "user_id": user, "app_id": None, "fields": fields}


def test_percentile_range_edges():
    """Percentiles are the 1 % slices a span overlaps by more than a point, within 0..99."""
    assert list(percentile_range(0, 10, 40)) == list(range(0, 25))
    assert list(percentile_range(10, 20, 40)) == list(range(25, 50))
    assert list(percentile_range(12, 17, 40)) == list(range(30, 43))
    assert list(percentile_range(-5, 500, 40)) == list(range(100))
    assert list(percentile_range(5, 5, 40)) == [] and list(percentile_range(0, 10, None)) == []
    assert list(percentile_range(0, 1e308, 1e-300)) == list(range(100))


@pytest.mark.parametrize("stats_start, kava_start, other_user, covered", [
    (1000, 1000, False, True),                       # "both" mode: the same playback
    (1003 + BOTH_MODE_SLACK, 1000, False, True),     # starts as the slack after the KAVA session ends
    (1004 + BOTH_MODE_SLACK, 1000, False, False),    # one second later: another playback
    (1000, 1000, True, False),                       # another user at the same time
])
def test_both_mode_rule(stats_start, kava_start, other_user, covered):
    """A stats.collect session is left out only when a KAVA session of the same entry and user overlaps it (30 s slack)."""
    kava = [_event(i, "analytics", t, "k", kava_start + i) for i, t in enumerate((1, 3, 99, 33))]  # spans 0..3 s
    stats = [_event(10 + i, "stats", t, "s", stats_start + i, user="v" if other_user else "u", duration=60)
             for i, t in enumerate((1, 2, 3))]
    split = split_sessions(kava + stats)
    assert [s.protocol for s in split.covered] == ([STATS] if covered else [])
    assert covers(split.counted[0], split.covered[0] if covered else split.counted[1]) is covered
    assert split.counted[0].protocol == KAVA


def test_view_play_time_and_live_sessions():
    """playTimeSum growth is summed across a reset; a repeated VIEW adds nothing; live playback has no percentiles."""
    views = [(0, 0), (10, 10), (10, 10), (20, 20), (4, 24)]  # (playTimeSum, position): a repeat, then a reset
    events = [_event(i, "analytics", 99, "k", 100 + i, position=pos, playTimeSum=pts, duration=100)
              for i, (pts, pos) in enumerate(views)]
    (vod,) = split_sessions(events).counted
    assert (vod.view_seconds, sorted(vod.percentiles)) == (24, list(range(0, 24)))
    live_events = [dict(ev, session_id="live", fields=dict(ev["fields"], playbackType="live")) for ev in events]
    (live,) = split_sessions(live_events).counted
    assert (live.view_seconds, live.percentiles) == (24, frozenset())


def test_duration_precedence():
    """A session's own duration beats the entry's, which beats an estimate from quartile positions."""
    own = [_event(1, "analytics", 11, "a", 1, position=26, duration=100)]
    entry = [_event(2, "analytics", 11, "b", 2, position=26), _event(3, "stats", 3, "c", 500, duration=90)]
    estimated = [_event(4, "analytics", 11, "d", 3, entry="x", position=26),
                 _event(5, "analytics", 12, "d", 4, entry="x", position=50.5)]
    sessions = {s.session_id: s for s in split_sessions(own + entry + estimated).counted}
    assert (sessions["a"].duration, sessions["b"].duration, sessions["d"].duration) == (100, 90, 101)
    assert sessions["d"].quartile_seconds == 2 * 101 / 4
