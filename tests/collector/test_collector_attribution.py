"""Attribution on the collector: the event's userId before the KS user, the event's
application before the KS appId, in storage, reports and the linter; the knowledge
base's required fields as warnings; the SDK and the CLI sending event[userId]."""

import json
import os
import subprocess
import sys

import pytest

from collector_helpers import http, stats_fields

from kaltura_web.collector.ingest import attribution
from kaltura_web.collector.ks import KSInfo
from kaltura_web.collector.linter import ERROR, WARNING, lint
from kaltura_web.collector.store import Store
from kaltura_web.cpython import SyncSender, create_tracker

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _collect(kc, url, session, event_type, ks=None, **extra):
    status, _, body = http("POST", url, stats_fields(kc, session, event_type, ks=ks, **extra))
    assert status == 200 and body == b"null", body


def _one(kc, **filters):
    (event,) = kc.events(**filters)
    return event["user_id"], event["app_id"]


# -- what an arrival is stored as -------------------------------------------------
def test_stats_event_user_and_application_come_before_the_ks(kaltura_collector, collect_url):
    """event[userId] and event[applicationId] win over the KS user and appId; without them the KS fills in; with no KS the event alone."""
    kc = kaltura_collector
    ks = kc.ks("kiosk-account@example.com", app_id="ks-app")
    _collect(kc, collect_url, "own", 1, ks=ks, userId="viewer@example.com", applicationId="events-portal")
    _collect(kc, collect_url, "ks", 1, ks=ks)
    _collect(kc, collect_url, "noks", 1, userId="viewer@example.com")
    assert _one(kc, session_id="own") == ("viewer@example.com", "events-portal")
    assert _one(kc, session_id="ks") == ("kiosk-account@example.com", "ks-app")
    assert _one(kc, session_id="noks") == ("viewer@example.com", None)


def test_track_event_user_and_application_come_before_the_ks(kaltura_collector, track_url):
    """A trackEvent's userId and kalturaApplication win over the KS user and appId."""
    kc = kaltura_collector
    data = {"ks": kc.ks("kiosk-account@example.com", app_id="ks-app"), "partnerId": str(kc.partner_id),
            "eventType": "10002", "buttonType": "cta", "buttonName": "go", "userId": "viewer@example.com",
            "kalturaApplication": "events-portal", "sessionId": "s-click"}
    assert http("POST", track_url, data)[0] == 200
    assert _one(kc, service="analytics") == ("viewer@example.com", "events-portal")


def test_multirequest_calls_are_attributed_one_by_one(kaltura_collector):
    """Each call of a multirequest is attributed by its own N:event:userId, the KS user filling in for a call without one."""
    kc = kaltura_collector
    data = {"ks": kc.ks("account@example.com"), "format": "1"}
    for n, user in ((1, "ann@example.com"), (2, None)):
        data.update({f"{n}:service": "stats", f"{n}:action": "collect", f"{n}:event:eventType": "1",
                     f"{n}:event:partnerId": str(kc.partner_id), f"{n}:event:entryId": "0_e",
                     f"{n}:event:sessionId": f"m{n}", f"{n}:event:eventTimestamp": "1700000000"})
        if user:
            data[f"{n}:event:userId"] = user
    status, _, body = http("POST", kc.service_url + "/service/multirequest", data)
    assert status == 200 and json.loads(body) == [None, None]
    assert [e["user_id"] for e in kc.events()] == ["ann@example.com", "account@example.com"]


@pytest.mark.parametrize("fields, info, expected", [
    ({"userId": "ann", "kalturaApplication": "a", "applicationId": "b"}, None, ("ann", "a")),
    ({"applicationId": "b", "application": "c"}, None, (None, "b")),
    ({"userId": " ", "kalturaApplication": ""}, KSInfo(2, 100, "ks-user", 0, 0, {"appId": "ks-app"}),
     ("ks-user", "ks-app")),
    ({"userId": 42, "application": ["x"]}, KSInfo(2, 100, "", 0, 0, {}), ("42", None)),
    ({"userId": True}, None, (None, None)),
])
def test_attribution_reads_the_event_then_the_ks(fields, info, expected):
    """Blank or non-scalar event fields do not count; numbers are read as text; the KS only fills in."""
    assert attribution(fields, info) == expected


def test_user_report_counts_the_event_user(kaltura_collector, collect_url):
    """USER_TOP_CONTENT lists the event's userId, not the shared KS user the page sent it under."""
    kc = kaltura_collector
    ks = kc.ks("shared-kiosk@example.com")
    for user, session in (("ann@example.com", "a"), ("bob@example.com", "b")):
        for event_type in (1, 2, 3):
            _collect(kc, collect_url, session, event_type, ks=ks, userId=user, duration=60, currentPoint=0)
    fields = {"ks": kc.ks("admin@example.com", ks_type=2), "format": "1", "reportType": "13",
              "reportInputFilter[objectType]": "KalturaEndUserReportInputFilter", "order": "+name"}
    table = json.loads(http("POST", kc.service_url + "/service/report/action/getTable", fields)[2])
    assert [row.split(",")[0] for row in table["data"].split(";") if row] == ["ann@example.com", "bob@example.com"]


# -- the linter ------------------------------------------------------------------------
def _event(seq, event_type, session="s", **fields):
    return {"seq": seq, "service": "stats", "session_id": session, "entry_id": "0_e", "event_type": event_type,
            "event_timestamp": 1000 + seq, "user_id": "u", "ks_masked": "djJ8…abcd", "fields": fields}


def _complete(seq, event_type, session="s", **fields):
    base = {"uiconfId": "23448", "duration": "60", "referrer": "https://a.example/"}
    base.update(fields)
    return _event(seq, event_type, session, **base)


def test_kb_required_fields_are_warnings_only():
    """Missing uiconfId/duration/referrer on player-usage events is one warning per session and field, never a violation."""
    events = [_complete(1, 1, duration=""), _complete(2, 2, uiconfId=""), _complete(3, 3, uiconfId="", referrer=""),
              _complete(4, 8, "editor", uiconfId="", duration="", referrer="")]
    assert lint(events) == []
    found = lint(events, warnings=True)
    assert [(f.rule, f.severity, f.seq) for f in found] == [("kb-required-field", WARNING, 2),
                                                             ("kb-required-field", WARNING, 3)]
    assert found[0].message.startswith("uiconfId is missing on 2 player-usage event(s), the first MEDIA_LOADED(2)")
    assert "referrer is missing on 1" in found[1].message
    assert "warning" in str(found[0]) and found[0].as_dict()["severity"] == WARNING


def test_duration_is_expected_after_the_widget_loaded():
    """WIDGET_LOADED comes before the media and needs no duration; a later event without one is warned."""
    events = [_complete(1, 1, duration=""), _complete(2, 2), _complete(3, 3)]
    del events[2]["fields"]["duration"]
    (warning,) = lint(events, warnings=True)
    assert (warning.seq, warning.event_type) == (3, 3) and warning.message.startswith("duration is missing on 1")


def test_violations_come_first_with_their_severity():
    """With warnings, the violations still come first and say they are errors."""
    events = [_event(1, 3)]
    found = lint(events, warnings=True)
    assert [(f.rule, f.severity) for f in found][0] == ("play-without-load", ERROR)
    assert {f.severity for f in found[1:]} == {WARNING} and len(found) == 4


def test_an_event_naming_its_user_is_not_anonymous(kaltura_collector, collect_url):
    """ks-without-user flags an event under a user-less KS only when the event names no userId either."""
    kc = kaltura_collector
    ks = kc.ks("")
    _collect(kc, collect_url, "named", 1, ks=ks, userId="viewer@example.com")
    _collect(kc, collect_url, "anonymous", 1, ks=ks)
    assert [(f.rule, f.session_id) for f in kc.verify()] == [("ks-without-user", "anonymous")]


def test_dev_verify_and_the_verify_command_keep_warnings_apart(kaltura_collector, collect_url, tmp_path):
    """/dev/verify is ok with warnings listed apart; `verify` prints them and still exits 0."""
    kc = kaltura_collector
    for event_type in (1, 2, 3):
        _collect(kc, collect_url, "bare", event_type, ks=kc.ks("u@example.com"))
    answer = json.loads(http("GET", kc.base_url + "/dev/verify")[2])
    assert answer["ok"] and answer["findings"] == []
    assert {w["rule"] for w in answer["warnings"]} == {"kb-required-field"} and len(answer["warnings"]) == 3
    db = tmp_path / "w.db"
    store = Store(str(db))
    for ev in kc.events():
        store.insert(service="stats", fields=ev["fields"], entry_id=ev["entry_id"], event_type=ev["event_type"],
                     session_id=ev["session_id"], event_timestamp=ev["event_timestamp"], user_id=ev["user_id"])
    store.close()
    proc = subprocess.run([sys.executable, "-m", "kaltura_web.collector", "verify", "--db", str(db)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("[kb-required-field warning]") == 3
    assert "3 events, 1 sessions, 0 findings, 3 warnings" in proc.stdout


# -- the SDK and the CLI against the collector -------------------------------------------
def test_the_python_sdk_is_counted_for_its_user(kaltura_collector):
    """A CPython tracker with user_id under a shared KS: every stats and trackEvent arrival is the user's, with the click's session."""
    kc = kaltura_collector
    tracker = create_tracker(kc.partner_id, service_url=kc.service_url, analytics_url=kc.analytics_url,
                             ks=kc.ks("shared-kiosk@example.com", app_id="ks-app"), user_id="ann@example.com",
                             application="lobby", application_version="3.0", uiconf_id=23448,
                             referrer="kiosk://device-7")
    player = tracker.player("0_e", ready=False)
    player.ready()
    player.loaded(duration=20.0)
    player.play(position=0.0)
    tracker.button_click("cta", "register", player=player, button_value="v", button_info="i")
    assert SyncSender(tracker).flush(timeout=20)
    stats, clicks = kc.events(service="stats"), kc.events(service="analytics")
    assert {(e["user_id"], e["app_id"], e["fields"]["userId"]) for e in stats + clicks} == \
        {("ann@example.com", "lobby", "ann@example.com")}
    (click,) = clicks
    assert (click["session_id"], click["fields"]["kalturaApplicationVer"], click["fields"]["buttonValue"]) == \
        (player.session_id, "3.0", "v")
    assert kc.verify() == [] and kc.verify(warnings=True) == []


@pytest.mark.parametrize("how", ["option", "environment"])
def test_the_send_command_sends_the_user_id(kaltura_collector, how):
    """`kaltura-web send --user-id` (or KALTURA_USER_ID) puts event[userId] on every beacon."""
    kc = kaltura_collector
    env = {k: v for k, v in os.environ.items() if not k.startswith("KALTURA_")}
    env["PYTHONPATH"] = ROOT
    args = [sys.executable, "-m", "kaltura_web", "send", "--service-url", kc.service_url, "--analytics-url",
            kc.analytics_url, "--partner-id", str(kc.partner_id), "--ks", kc.ks("batch@example.com"),
            "--entry-id", "1_server", "--events", "1,2,3"]
    if how == "option":
        args += ["--user-id", "ann@example.com"]
    else:
        env["KALTURA_USER_ID"] = "ann@example.com"
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    events = kc.events(service="stats")
    assert [e["fields"]["userId"] for e in events] == ["ann@example.com"] * 3
    assert {e["user_id"] for e in events} == {"ann@example.com"}
