"""report.getTable / report.getTotal and `kaltura-web report` over a known set of sessions.

The sessions are sent through real stats.collect and analytics.trackEvent HTTP
calls; every expected number below is worked out by hand in the comments.

Entry 0_x (duration 100 s), entry 0_y (duration 60 s); T = 1700000000:

| session | user  | app    | entry | events (currentPoint)                       | time    |
|---------|-------|--------|-------|---------------------------------------------|---------|
| s1      | alice | portal | 0_x   | 1 2 3 4(25) 5(50) 6(75) 7(100)              | T       |
| s2      | bob   | portal | 0_x   | 1 2 3 12 13 4(30) 17(40)                    | T+100   |
| s3      | carol | kiosk  | 0_x   | 1 2 3 4(25) 5(50)                           | T+86400 |
| s4      | alice | portal | 0_y   | 1 2                                         | T+200   |
| s5      | bob   | portal | 0_y   | 1 2 3 4(15) 5(30) 6(45)                     | T+300   |

plus trackEvent: alice PageLoad lobby, bob ButtonClicked register-now, carol PageLoad session.
"""

import json

import pytest

from collector_helpers import http, stats_fields

from kaltura_web.collector import __main__ as collector_main

T = 1700000000
SESSIONS = [
    # (session, user, app, entry, duration, start, [(type, currentPoint)])
    ("s1", "alice", "portal", "0_x", 100, T, [(1, 0), (2, 0), (3, 0), (4, 25), (5, 50), (6, 75), (7, 100)]),
    ("s2", "bob", "portal", "0_x", 100, T + 100, [(1, 0), (2, 0), (3, 0), (12, 5), (13, 5), (4, 30), (17, 40)]),
    ("s3", "carol", "kiosk", "0_x", 100, T + 86400, [(1, 0), (2, 0), (3, 0), (4, 25), (5, 50)]),
    ("s4", "alice", "portal", "0_y", 60, T + 200, [(1, 0), (2, 0)]),
    ("s5", "bob", "portal", "0_y", 60, T + 300, [(1, 0), (2, 0), (3, 0), (4, 15), (5, 30), (6, 45)]),
]
APP_EVENTS = [
    ("alice", "portal", {"eventType": 10003, "pageType": "lobby", "pageName": "main", "entryId": "0_x"}),
    ("bob", "portal", {"eventType": 10002, "buttonType": "cta", "buttonName": "register-now"}),
    ("carol", "kiosk", {"eventType": 10003, "pageType": "session", "pageName": "keynote"}),
]

# Worked out from the table above (see docs/reports.md for the stats.collect formulas):
# 0_x: plays 3, loads 3, quartile events 25/50/75/100 = 3/2/1/1 -> sum_time_viewed
#      7 x 100/4 = 175 s = 2.9167 min, avg 0.9722; drop-off 7/4/3 = 0.5833, users 3,
#      through 1/3; view period (furthest point) 100+40+50 = 190 s = 3.1667 min, avg 1.0556;
#      completion (100+40+50)/3 = 63.3333 %.
# 0_y: plays 1, loads 2, quartile events 1/1/1/0 -> 3 x 60/4 = 45 s = 0.75 min, drop-off
#      3/4 = 0.75, known users 2 (alice loaded it, bob played it), view period 45 s,
#      completion 75 %.
TOP_CONTENT_HEADER = ("object_id,entry_name,count_plays,sum_time_viewed,avg_time_viewed,"
                      "count_loads,load_play_ratio,avg_view_drop_off,unique_known_users,"
                      "sum_view_period,avg_view_period_time,avg_completion_rate")
TOP_CONTENT_X = "0_x,0_x,3,2.9167,0.9722,3,1,0.5833,3,3.1667,1.0556,63.3333;"
TOP_CONTENT_Y = "0_y,0_y,1,0.75,0.75,2,0.5,0.75,2,0.75,0.75,75;"
TOTAL_TOP_CONTENT = "4,3.6667,0.9167,5,0.8,0.625,3,3.9167,0.9792,66.25"


@pytest.fixture
def loaded(kaltura_collector):
    """The collector with the sessions of the module docstring stored."""
    kc = kaltura_collector
    collect = kc.service_url + "/service/stats/action/collect"
    for sid, user, app, entry, duration, start, events in SESSIONS:
        ks = kc.ks(user, app_id=app)
        for i, (event_type, point) in enumerate(events):
            fields = stats_fields(kc, sid, event_type, entry_id=entry, ks=ks,
                                  currentPoint=point, duration=duration)
            fields["event[eventTimestamp]"] = str(start + i)
            status, _, body = http("POST", collect, fields)
            assert status == 200 and body == b"null", body
    track = kc.analytics_url + "/api_v3/index.php?service=analytics&action=trackEvent"
    for user, app, fields in APP_EVENTS:
        data = {"ks": kc.ks(user, app_id=app), "format": "1", "partnerId": str(kc.partner_id),
                "kalturaApplication": app, "eventTimestamp": str(T + 50), **fields}
        assert http("POST", track, data)[0] == 200
    kc.wait_for_events(sum(len(s[6]) for s in SESSIONS) + len(APP_EVENTS))
    return kc


def report(kc, action, report_type, ks=None, fmt="1", **extra):
    """POST report.<action> the way the guide's section 10.2 does; returns the parsed JSON (or XML text)."""
    fields = {"ks": kc.ks("admin@example.com", ks_type=2) if ks is None else ks, "format": fmt,
              "reportType": str(report_type),
              "reportInputFilter[objectType]": "KalturaEndUserReportInputFilter",
              "reportInputFilter[fromDate]": str(T - 10),
              "reportInputFilter[toDate]": str(T + 100000)}
    for key, value in extra.items():
        fields[key] = str(value)
    fields = {k: v for k, v in fields.items() if v != "None"}
    status, _, body = http("POST", f"{kc.service_url}/service/report/action/{action}", fields)
    assert status == 200
    return json.loads(body) if fmt == "1" else body.decode()


def test_top_content_exact_numbers(loaded):
    """TOP_CONTENT lists both entries with Kaltura's columns and hand-computed values."""
    table = report(loaded, "getTable", 1)
    assert table == {"objectType": "KalturaReportTable", "header": TOP_CONTENT_HEADER,
                     "data": TOP_CONTENT_X + TOP_CONTENT_Y, "totalCount": 2}


def test_content_dropoff_quartile_funnel(loaded):
    """CONTENT_DROPOFF counts the sessions that reached each quartile, and play-through."""
    table = report(loaded, "getTable", 2)
    assert table["header"] == ("object_id,entry_name,count_plays,count_plays_25,count_plays_50,"
                               "count_plays_75,count_plays_100,play_through_ratio,count_loads")
    assert table["data"] == "0_x,0_x,3,3,2,1,1,0.3333,3;0_y,0_y,1,1,1,1,0,0,2;"


def test_user_top_content(loaded):
    """USER_TOP_CONTENT has one row per KS user with today's columns, most plays first, ties by name."""
    table = report(loaded, "getTable", 13)
    assert table["header"] == ("name,full_name,unique_videos,count_plays,sum_time_viewed,avg_time_viewed,"
                               "avg_view_drop_off,count_loads,load_play_ratio,avg_completion_rate,"
                               "count_viral,total_completion_rate,sum_view_period,avg_view_period_time")
    # bob: s2 (40 s of 100, quartile 25) + s5 (45 s of 60, quartiles 25/50/75): two entries,
    #      quartile time 25 + 45 = 70 s = 1.1667 min, drop-off 4/4/2 = 0.5, completion
    #      (40 + 75) / 2 = 57.5 %, percentiles 0..39 and 0..74 -> 75 distinct, view period 85 s.
    # alice: s1 full (100 s) and s4 loads only (an entry too). carol: s3 50 s, quartiles 25/50.
    assert table["data"] == ("bob,bob,2,2,1.1667,0.5833,0.5,2,1,57.5,0,75,1.4167,0.7083;"
                             "alice,alice,2,1,1.6667,1.6667,1,2,0.5,100,0,100,1.6667,1.6667;"
                             "carol,carol,1,1,0.8333,0.8333,0.5,1,1,50,0,50,0.8333,0.8333;")
    assert table["totalCount"] == 3
    total = report(loaded, "getTotal", 13)
    assert total["header"] == ("unique_known_users,unique_videos,count_plays,sum_time_viewed,avg_time_viewed,"
                               "avg_view_drop_off,count_loads,load_play_ratio,avg_completion_rate,count_viral,"
                               "unique_viewers,sum_view_period,avg_view_period_time")
    assert total["data"] == "3,2,4,3.6667,0.9167,0.625,5,0.8,66.25,0,3,3.9167,0.9792"


def test_applications(loaded):
    """APPLICATIONS lists the appIds seen, by name."""
    assert report(loaded, "getTable", 16) == {"objectType": "KalturaReportTable", "header": "name",
                                              "data": "kiosk;portal;", "totalCount": 2}


def test_top_content_creator(loaded):
    """TOP_CONTENT_CREATOR carries entry metadata columns, Kaltura's engagement ranking and today's columns."""
    table = report(loaded, "getTable", 38)
    assert table["header"].split(",")[:8] == ["object_id", "entry_name", "creator_name", "created_at",
                                              "status", "media_type", "duration_msecs", "entry_source"]
    assert table["header"].split(",")[8:] == [
        "count_plays", "sum_time_viewed", "avg_time_viewed", "count_loads", "load_play_ratio", "avg_view_drop_off",
        "unique_known_users", "engagement_ranking", "avg_completion_rate", "unique_viewers", "sum_view_period",
        "avg_view_period_time", "total_completion_rate"]
    # 0_x: 5*3/3 + 2.5*3/3 + min(63.3333*0.025, 2.5) = 9.0833; every percentile seen (s1) -> 100
    # 0_y: 5*1/3 + 2.5*2/3 + 75*0.025 = 5.2083; 1 viewer (alice only loaded it); percentiles 0..74 -> 75
    assert table["data"] == ("0_x,0_x,,,,,100000,,3,2.9167,0.9722,3,1,0.5833,3,9.0833,63.3333,3,3.1667,1.0556,100;"
                             "0_y,0_y,,,,,60000,,1,0.75,0.75,2,0.5,0.75,2,5.2083,75,1,0.75,0.75,75;")
    total = report(loaded, "getTotal", 38)
    assert total["header"] == ("count_plays,sum_time_viewed,avg_time_viewed,count_loads,load_play_ratio,"
                               "avg_view_drop_off,unique_known_users,unique_viewers,sum_view_period,"
                               "avg_view_period_time,avg_completion_rate,total_completion_rate")
    assert total["data"] == "4,3.6667,0.9167,5,0.8,0.625,3,3,3.9167,0.9792,66.25,100"


def test_filters_entry_and_dates(loaded):
    """entryIdIn keeps the listed entries; fromDate/toDate (inclusive) drop carol's next-day session."""
    assert report(loaded, "getTable", 1, **{"reportInputFilter[entryIdIn]": "0_y"})["data"] == TOP_CONTENT_Y
    table = report(loaded, "getTable", 2, **{"reportInputFilter[toDate]": T + 86399})
    assert table["data"] == "0_x,0_x,2,2,1,1,1,0.5,2;0_y,0_y,1,1,1,1,0,0,2;"
    only_next_day = report(loaded, "getTable", 2, **{"reportInputFilter[fromDate]": T + 86400,
                                                     "reportInputFilter[toDate]": T + 86404})
    assert only_next_day["data"] == "0_x,0_x,1,1,1,0,0,0,1;"


def test_paging_order_and_delimiter(loaded):
    """pager picks the page (totalCount stays), order sorts, the delimiter joins columns."""
    page2 = report(loaded, "getTable", 1, **{"pager[pageSize]": 1, "pager[pageIndex]": 2})
    assert (page2["data"], page2["totalCount"]) == (TOP_CONTENT_Y, 2)
    assert report(loaded, "getTable", 1, **{"pager[pageSize]": 1, "pager[pageIndex]": 3})["data"] == ""
    ascending = report(loaded, "getTable", 1, order="+count_plays")
    assert ascending["data"] == TOP_CONTENT_Y + TOP_CONTENT_X
    piped = report(loaded, "getTable", 1, **{"responseOptions[objectType]": "KalturaReportResponseOptions",
                                              "responseOptions[delimiter]": "|"})
    assert piped["header"] == TOP_CONTENT_HEADER.replace(",", "|")
    assert piped["data"] == (TOP_CONTENT_X + TOP_CONTENT_Y).replace(",", "|")


def test_app_id_scoping(loaded):
    """A KS with appId:kiosk sees only kiosk events (guide 9.1), whatever the filter asks."""
    kiosk_ks = loaded.ks("carol", app_id="kiosk")
    assert report(loaded, "getTable", 1, ks=kiosk_ks)["data"] == "0_x,0_x,1,0.8333,0.8333,1,1,0.5,1,0.8333,0.8333,50;"
    assert report(loaded, "getTable", 16, ks=kiosk_ks)["data"] == "kiosk;"
    asks_portal = report(loaded, "getTable", 1, ks=kiosk_ks, **{"reportInputFilter[application]": "portal"})
    assert asks_portal["totalCount"] == 0
    portal = report(loaded, "getTotal", 2, ks=loaded.ks("alice", app_id="portal"))
    assert portal["data"] == "3,3,2,2,1,0.3333,4"


def test_get_total(loaded):
    """getTotal recomputes ratios from the sums over all matching sessions; APPLICATIONS has no total."""
    total = report(loaded, "getTotal", 1)
    # plays 4, quartile time (175 + 45) s = 3.6667 min, /4 = 0.9167, loads 5, 4/5, (7+3)/4/4 = 0.625,
    # 3 users, view period (190 + 45) s = 3.9167 min, /4 = 0.9792, completion (100+40+50+75)/4 = 66.25 %
    assert total == {"objectType": "KalturaReportTotal", "header": TOP_CONTENT_HEADER.split(",", 2)[2],
                     "data": TOTAL_TOP_CONTENT}
    piped = report(loaded, "getTotal", 2, **{"responseOptions[delimiter]": "|"})
    assert piped["data"] == "4|4|3|2|1|0.25|5"
    # Kaltura: "unsupported query - report has no metrics", answered as its internal error
    assert report(loaded, "getTotal", 16) == {"code": "INTERNAL_SERVERL_ERROR",
                                              "message": "Internal server error occurred",
                                              "objectType": "KalturaAPIException", "args": {}}


def test_index_php_form_and_xml(loaded):
    """index.php?service=report&action=getTable answers Kaltura XML when format=2."""
    fields = {"ks": loaded.ks("admin@example.com", ks_type=2), "format": "2", "reportType": "2",
              "reportInputFilter[objectType]": "KalturaReportInputFilter",
              "reportInputFilter[entryIdIn]": "0_y"}
    status, headers, body = http("POST", loaded.service_url + "/index.php?service=report&action=getTable",
                                 fields)
    text = body.decode()
    assert status == 200 and headers["Content-Type"].startswith("text/xml")
    assert "<objectType>KalturaReportTable</objectType>" in text
    assert "<data>0_y,0_y,1,1,1,1,0,0,2;</data><totalCount>1</totalCount>" in text


def test_report_errors(loaded):
    """No KS, a bad or expired KS, an unknown report type and a missing filter are Kaltura errors."""
    assert report(loaded, "getTable", 1, ks="")["code"] == "MISSING_KS"
    bad = report(loaded, "getTable", 1, ks="djJ8MTAwfG5vdCBhIGtz")
    assert bad["code"] == "INVALID_KS" and bad["objectType"] == "KalturaAPIException"
    expired = report(loaded, "getTotal", 1, ks=loaded.ks(expiry=-60))
    assert (expired["code"], expired["args"]["ERR_DESC"]) == ("INVALID_KS", "EXPIRED")
    assert report(loaded, "getTable", 999)["code"] == "REPORT_NOT_SUPPORTED"
    assert report(loaded, "getTable", "top")["code"] == "INVALID_ENUM_VALUE"
    status, _, body = http("POST", loaded.service_url + "/service/report/action/getTable",
                           {"ks": loaded.ks(), "format": "1", "reportType": "1"})
    assert json.loads(body)["code"] == "MISSING_MANDATORY_PARAMETER"


def test_official_client_get_table(loaded):
    """Kaltura's official Python client parses our getTable/getTotal XML answers."""
    import KalturaClient as kaltura
    from KalturaClient.Plugins.Core import (KalturaEndUserReportInputFilter, KalturaFilterPager,
                                            KalturaReportInputFilter, KalturaReportResponseOptions,
                                            KalturaReportTable, KalturaReportTotal, KalturaReportType)

    config = kaltura.KalturaConfiguration(loaded.partner_id)
    config.serviceUrl = loaded.base_url
    client = kaltura.KalturaClient(config)
    client.setKs(loaded.ks("admin@example.com", ks_type=2))
    flt = KalturaEndUserReportInputFilter(fromDate=T - 10, toDate=T + 100000, entryIdIn="0_x,0_y")
    table = client.report.getTable(KalturaReportType.TOP_CONTENT, flt,
                                   KalturaFilterPager(pageSize=5, pageIndex=1), NotImplemented,
                                   NotImplemented, KalturaReportResponseOptions(delimiter="|"))
    assert isinstance(table, KalturaReportTable)
    assert table.header == TOP_CONTENT_HEADER.replace(",", "|")
    assert table.data == (TOP_CONTENT_X + TOP_CONTENT_Y).replace(",", "|") and table.totalCount == 2
    plain = client.report.getTable(KalturaReportType.CONTENT_DROPOFF,
                                   KalturaReportInputFilter(fromDate=T - 10, toDate=T + 100000),
                                   KalturaFilterPager(pageSize=1, pageIndex=1), "-count_plays")
    assert (plain.data, plain.totalCount) == ("0_x,0_x,3,3,2,1,1,0.3333,3;", 2)
    total = client.report.getTotal(KalturaReportType.TOP_CONTENT, flt)
    assert isinstance(total, KalturaReportTotal) and total.data == TOTAL_TOP_CONTENT


def run_report(kc, capsys, *args):
    """Run `kaltura-web report` in-process against the fixture's database; (exit code, stdout)."""
    code = collector_main.main(["report", "--db", str(kc.server.config.db), *args])
    return code, capsys.readouterr().out


def test_report_command_json(loaded, capsys):
    """`kaltura-web report --json` gives the exact per-entry/app/user figures."""
    code, out = run_report(loaded, capsys, "--json")
    data = json.loads(out)
    assert code == 0
    assert data["totals"] == {"plays": 4, "sessions": 4, "loads": 5,
                              "reach": {"25": 4, "50": 3, "75": 2, "100": 1},
                              "avgCompletion": 0.6625, "bufferEvents": 1, "uniqueUsers": 3,
                              "minutesViewed": 3.9167, "events": 30, "pageLoads": 2, "buttonClicks": 1,
                              "duplicates": 0, "protocols": {"kava": 0, "stats": 5}, "coveredStatsSessions": 0}
    assert data["duplicateBeacons"] == []
    x = data["entries"][0]
    assert (x["name"], x["plays"], x["sessions"], x["reach"], x["avgCompletion"], x["bufferEvents"]) == \
        ("0_x", 3, 3, {"25": 3, "50": 2, "75": 1, "100": 1}, 0.6333, 1)
    apps = {a["name"]: a for a in data["applications"]}
    assert (apps["portal"]["plays"], apps["portal"]["pageLoads"], apps["portal"]["buttonClicks"]) == (3, 1, 1)
    assert (apps["kiosk"]["plays"], apps["kiosk"]["pageLoads"], apps["kiosk"]["buttonClicks"]) == (1, 1, 0)
    assert [(u["name"], u["plays"]) for u in data["users"]] == [("bob", 2), ("alice", 1), ("carol", 1)]
    assert data["pageLoadsByPageType"] == {"lobby": 1, "session": 1}
    assert data["buttonClicksByButtonName"] == {"register-now": 1}


def test_report_command_filters_and_table(loaded, capsys):
    """--entry/--app/--user/--from/--to narrow the figures; the default output is a text table."""
    code, out = run_report(loaded, capsys, "--json", "--app", "portal", "--entry", "0_x")
    data = json.loads(out)
    assert data["totals"]["plays"] == 2 and data["totals"]["reach"] == {"25": 2, "50": 1, "75": 1, "100": 1}
    _, out = run_report(loaded, capsys, "--json", "--user", "bob,carol", "--to", "2023-11-14")
    assert [(e["name"], e["plays"]) for e in json.loads(out)["entries"]] == [("0_x", 1), ("0_y", 1)]
    _, out = run_report(loaded, capsys, "--json", "--from", str(T + 86400))
    assert json.loads(out)["totals"]["plays"] == 1
    code, out = run_report(loaded, capsys)
    assert code == 0
    lines = out.splitlines()
    assert any(line.split()[:3] == ["0_x", "3", "3"] for line in lines)
    assert "Button clicks by buttonName" in out and any(line.startswith("register-now") for line in lines)
    assert collector_main.main(["report", "--db", "/nonexistent/x.db"]) == 2
