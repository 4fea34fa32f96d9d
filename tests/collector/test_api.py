"""The Kaltura API v3 endpoints, driven with the guide's curl calls and raw HTTP."""

import json
import time
import urllib.parse
import xml.etree.ElementTree as ET

import pytest

from kaltura_web.collector.server import CollectorServer

from collector_helpers import curl_post, http, post_json, stats_fields


def session_start(kc, user_id, privileges=None, secret=None, partner=None, expiry=None, path=True):
    pairs = [("secret", secret or kc.server.config.admin_secret), ("format", "1"), ("type", "0"),
             ("partnerId", str(partner or kc.partner_id)), ("userId", user_id)]
    if privileges:
        pairs.append(("privileges", privileges))
    if expiry:
        pairs.append(("expiry", str(expiry)))
    url = kc.service_url + ("/service/session/action/start" if path else "/index.php?service=session&action=start")
    return curl_post(url, pairs)


def collect_pairs(kc, ks, session_id, event_type, **extra):
    return list(stats_fields(kc, session_id, event_type, ks=ks, **extra).items())


def test_guide_section3_and_9_1_session_start_with_appid(kaltura_collector, collect_url):
    """Sections 3/9.1: session.start with appId privilege, then stats.collect tags the event."""
    kc = kaltura_collector
    proc = session_start(kc, "viewer@example.com", "appId:corporate-portal")
    assert proc.returncode == 0 and proc.stdout.startswith('"djJ8')
    ks = proc.stdout.strip().strip('"')
    proc = curl_post(collect_url, collect_pairs(kc, ks, "s-9-1", 3))
    assert proc.stdout == "null"
    (ev,) = kc.events(session_id="s-9-1")
    assert (ev["user_id"], ev["app_id"], ev["event_type"], ev["service"]) == (
        "viewer@example.com", "corporate-portal", 3, "stats")
    assert ev["ks_masked"] == ks[:8] + "…" + ks[-4:]


def test_guide_section5_4_and_12_full_session(kaltura_collector, collect_url):
    """Sections 5.4/12.1/12.3: a complete lifecycle session is stored in order and lints clean."""
    kc = kaltura_collector
    ks = session_start(kc, "server-process@example.com").stdout.strip('"')
    for t in (1, 2, 3, 4, 5, 6, 7):
        proc = curl_post(collect_url, collect_pairs(kc, ks, "custom_player_1", t, referrer="server://batch-process"))
        assert proc.stdout == "null"
    kc.assert_session("custom_player_1", [1, 2, 3, 4, 5, 6, 7])
    assert kc.verify() == []


def test_guide_section8_2_kiosk_pattern(kaltura_collector, collect_url):
    """Section 8.2: session.start via index.php, PLAY with referrer stored with its fields."""
    kc = kaltura_collector
    ks = session_start(kc, "kiosk-001@example.com", path=False).stdout.strip('"')
    url = kc.service_url + "/index.php?service=stats&action=collect"
    proc = curl_post(url, collect_pairs(kc, ks, "kiosk_1", 3, referrer="kiosk://device-001"))
    assert proc.stdout == "null"
    (ev,) = kc.events(session_id="kiosk_1")
    assert ev["fields"]["referrer"] == "kiosk://device-001" and ev["user_id"] == "kiosk-001@example.com"


def test_guide_section6_3_track_event(kaltura_collector, track_url):
    """Sections 6.3/12.2: trackEvent page load and CTA click answer {time, viewEventsEnabled}."""
    kc = kaltura_collector
    ks = kc.ks("viewer@example.com", app_id="events-portal")
    before = time.time()
    for pairs in ([("eventType", "10003"), ("pageType", "lobby"), ("pageName", "main-lobby")],
                  [("eventType", "10002"), ("buttonType", "cta"), ("buttonName", "register-now")]):
        base = [("ks", ks), ("format", "1"), ("partnerId", str(kc.partner_id)), ("entryId", "0_e"),
                ("kalturaApplication", "events-portal")]
        proc = curl_post(track_url, base + pairs)
        body = json.loads(proc.stdout)
        assert body["viewEventsEnabled"] is True and body["time"] >= before - 1
    evs = kc.events(service="analytics")
    assert [e["event_type"] for e in evs] == [10003, 10002]
    assert evs[0]["fields"]["pageName"] == "main-lobby" and evs[1]["app_id"] == "events-portal"


def test_track_event_player_v7_style(kaltura_collector, track_url):
    """trackEvent with query-string ids and a JSON body (Player v7 KAVA style) is stored."""
    kc = kaltura_collector
    url = track_url + "&eventType=3&partnerId=%d&entryId=0_x&sessionId=a:b" % kc.partner_id
    status, _, body = post_json(url, {"playTimeSum": 10, "beaconId": "b-1", "eventType": 99})
    assert status == 200 and "time" in json.loads(body)
    (ev,) = kc.events(service="analytics")
    assert ev["event_type"] == 3 and ev["session_id"] == "a:b" and ev["beacon_id"] == "b-1"
    assert ev["fields"]["playTimeSum"] == 10


def test_track_event_errors(kaltura_collector, track_url):
    """trackEvent: 400 without eventType/partnerId, 401 with a bad or expired KS."""
    kc = kaltura_collector
    assert http("POST", track_url, {"partnerId": "100"})[0] == 400
    assert http("POST", track_url, {"eventType": "10003"})[0] == 400
    assert http("POST", track_url, {"eventType": "x", "partnerId": "100"})[0] == 400
    assert http("POST", track_url, {"eventType": "10003", "partnerId": "100", "ks": "garbage"})[0] == 401
    assert http("POST", track_url, {"eventType": "10003", "partnerId": "100", "ks": kc.ks(expiry=-10)})[0] == 401
    assert kc.events() == []


def test_stats_collect_errors(kaltura_collector, collect_url):
    """stats.collect errors: HTTP 200 with KalturaAPIException JSON, nothing stored."""
    kc = kaltura_collector
    status, _, body = http("POST", collect_url, {"format": "1"})
    err = json.loads(body)
    assert status == 200 and err["code"] == "MISSING_MANDATORY_PARAMETER"
    assert err["message"] == 'Missing parameter "event"' and err["objectType"] == "KalturaAPIException"
    fields = stats_fields(kc, "s", 3)
    del fields["event[entryId]"]
    err = json.loads(http("POST", collect_url, fields)[2])
    assert err["code"] == "MISSING_MANDATORY_PARAMETER" and "entryId" in err["message"]
    err = json.loads(http("POST", collect_url, stats_fields(kc, "s", 41))[2])
    assert err["code"] == "INVALID_ENUM_VALUE"
    assert err["args"] == {"ENUM_VAL": "41", "PARAM_NAME": "eventType", "ENUM_TYPE": "KalturaStatsEventType"}
    err = json.loads(http("POST", collect_url, stats_fields(kc, "s", 3, ks="garbage"))[2])
    assert err["code"] == "INVALID_KS" and err["args"]["ERR_DESC"] == "INVALID_STR"
    err = json.loads(http("POST", collect_url, stats_fields(kc, "s", 3, ks=kc.ks(expiry=-5)))[2])
    assert err["code"] == "INVALID_KS" and err["args"]["ERR_DESC"] == "EXPIRED" and err["args"]["ERR_CODE"] == "-5"
    from kaltura_web.collector.ks import make_ks_v2

    other = make_ks_v2(999, "x", "u", 0, int(time.time()) + 60, None)
    err = json.loads(http("POST", collect_url, stats_fields(kc, "s", 3, ks=other))[2])
    assert err["code"] == "INVALID_KS"
    assert kc.events() == []


def test_tampered_ks_rejected_over_http(kaltura_collector, collect_url):
    """A KS with one character changed is answered INVALID_KS."""
    kc = kaltura_collector
    ks = kc.ks()
    bad = ks[:20] + ("A" if ks[20] != "A" else "B") + ks[21:]
    err = json.loads(http("POST", collect_url, stats_fields(kc, "s", 3, ks=bad))[2])
    assert err["code"] == "INVALID_KS"


def test_session_start_errors(kaltura_collector):
    """session.start with a wrong secret or partner answers START_SESSION_ERROR."""
    kc = kaltura_collector
    for kwargs in ({"secret": "wrong"}, {"partner": 555}):
        err = json.loads(session_start(kc, "u", **kwargs).stdout)
        assert err["code"] == "START_SESSION_ERROR"


def test_colon_form_json_body_and_url_override(kaltura_collector, collect_url):
    """event:x fields, a JSON {"event":..} body, and URL params overriding the body."""
    kc = kaltura_collector
    body = {f"event:{k}": v for k, v in (("partnerId", "100"), ("entryId", "e1"), ("eventType", "1"),
                                        ("sessionId", "colon"), ("eventTimestamp", "1"))}
    assert http("POST", collect_url + "?format=1", body)[2] == b"null"
    ev = {"partnerId": 100, "entryId": "e2", "eventType": 2, "sessionId": "json", "eventTimestamp": 2}
    assert post_json(collect_url + "?format=1", {"event": ev})[2] == b"null"
    url = collect_url + "?format=1&event%5BeventType%5D=3"
    assert post_json(url, {"event": ev})[2] == b"null"
    assert [e["event_type"] for e in kc.events()] == [1, 2, 3]
    # a JSON body with another content type is not parsed
    status, _, body = http("POST", collect_url + "?format=1", json.dumps({"event": ev}), {"Content-Type": "text/plain"})
    assert json.loads(body)["code"] == "MISSING_MANDATORY_PARAMETER"


def test_xml_is_default_format(kaltura_collector, collect_url):
    """Without format the answer is Kaltura-style XML, errors included."""
    kc = kaltura_collector
    fields = stats_fields(kc, "x", 3)
    del fields["format"]
    status, headers, body = http("POST", collect_url, fields)
    root = ET.fromstring(body)
    assert root.tag == "xml" and root.find("result").text is None and root.find("executionTime") is not None
    status, headers, body = http("POST", collect_url, {"event[eventType]": "0"})
    err = ET.fromstring(body).find("result/error")
    assert err.findtext("code") == "INVALID_ENUM_VALUE" and err.findtext("objectType") == "KalturaAPIException"
    names = [i.findtext("name") for i in err.find("args")]
    assert names == ["ENUM_VAL", "PARAM_NAME", "ENUM_TYPE"]


def test_unknown_paths_404(kaltura_collector):
    """Unknown /api_v3 paths and services answer HTTP 404."""
    kc = kaltura_collector
    assert http("GET", kc.service_url + "/nothing/here")[0] == 404
    assert http("POST", kc.service_url + "/service/media/action/list")[0] == 404
    assert http("POST", kc.service_url + "/index.php?service=x&action=y")[0] == 404


def test_cors_preflight_and_echo(kaltura_collector, collect_url):
    """A preflight from another local origin is allowed and answers echo the origin."""
    kc = kaltura_collector
    origin = "http://localhost:9999"
    status, headers, _ = http("OPTIONS", collect_url, headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "Content-Type"})
    assert status in (200, 204) and headers["Access-Control-Allow-Origin"] == origin
    assert "POST" in headers["Access-Control-Allow-Methods"]
    assert "content-type" in headers["Access-Control-Allow-Headers"].lower()
    _, headers, _ = http("POST", collect_url, stats_fields(kc, "c", 1), {"Origin": origin})
    assert headers["Access-Control-Allow-Origin"] == origin


def test_resent_beacon_is_stored_again_as_a_duplicate(kaltura_collector, collect_url, track_url):
    """A re-sent beacon is answered success and stored again (Kaltura de-duplicates nothing),
    each repeat marked as a duplicate of its service's first arrival."""
    kc = kaltura_collector
    for _ in range(3):
        assert http("POST", collect_url, stats_fields(kc, "d", 1, beaconId="B1"))[2] == b"null"
        assert http("POST", track_url, {"eventType": "10003", "partnerId": "100", "beaconId": "B1"})[0] == 200
    http("POST", collect_url, stats_fields(kc, "d", 2, beaconId="B2"))
    for service, count in (("stats", 4), ("analytics", 3)):
        arrivals = kc.events(service=service, duplicates=True)
        first = arrivals[0]["seq"]
        assert [e["duplicate_of"] for e in arrivals] == [None, first, first, None][:count], service
    assert [e["beacon_id"] for e in kc.events(session_id="d")] == ["B1", "B2"]  # each beacon once
    assert kc.duplicates() == ["B1"]


def test_dev_ks_and_secret_never_leaks(kaltura_collector):
    """GET /dev/ks issues a USER KS with appId; no answer contains the admin secret."""
    kc = kaltura_collector
    status, _, body = http("GET", kc.base_url + "/dev/ks?userId=demo@example.com&appId=demo&expiry=60")
    from kaltura_web.collector.ks import parse_ks

    info = parse_ks(json.loads(body)["ks"], kc.server.config.secrets_by_partner)
    assert (info.user_id, info.app_id, info.ks_type) == ("demo@example.com", "demo", 0)
    assert info.expiry <= time.time() + 61
    secret = kc.server.config.admin_secret.encode()
    for path in ("/dev/ks", "/dev/info", "/dev/events", "/dev/faults", "/dev/verify", "/dev/sessions"):
        assert secret not in http("GET", kc.base_url + path)[2]
    err = session_start(kc, "u", secret="wrong").stdout
    assert kc.server.config.admin_secret not in err


def test_dev_ks_can_be_disabled(tmp_path):
    """With dev_ks=False (--no-dev-ks) GET /dev/ks is 404."""
    with CollectorServer(db=tmp_path / "n.db", dev_ks=False) as srv:
        assert http("GET", srv.base_url + "/dev/ks")[0] == 404


def test_dev_api_events_verify_reset(kaltura_collector, collect_url):
    """/dev/events filters, /dev/verify lints, /dev/reset empties events and faults."""
    kc = kaltura_collector
    http("POST", collect_url, stats_fields(kc, "v1", 3))
    http("POST", collect_url, stats_fields(kc, "v2", 1, entry_id="other"))
    got = json.loads(http("GET", kc.base_url + "/dev/events?sessionId=v1")[2])
    assert got["count"] == 1 and got["events"][0]["fields"]["sessionId"] == "v1"
    assert json.loads(http("GET", kc.base_url + "/dev/events?entryId=other&eventType=1")[2])["count"] == 1
    verify = json.loads(http("GET", kc.base_url + "/dev/verify")[2])
    assert not verify["ok"] and verify["findings"][0]["rule"] == "play-without-load"
    kc.faults.fail_all()
    assert http("POST", kc.base_url + "/dev/reset", b"")[0] == 200
    assert kc.events() == [] and kc.faults.active == []


def test_bad_input_never_crashes(kaltura_collector, collect_url, track_url):
    """Malformed bodies and odd parameters get Kaltura-style answers, never a 500."""
    kc = kaltura_collector
    cases = [
        (collect_url + "?format=1", b"{not json", {"Content-Type": "application/json"}),
        (collect_url + "?format=1", b"[1,2]", {"Content-Type": "application/json"}),
        (collect_url + "?format=1", b"event[eventType]=abc&event[partnerId]=zz", {}),
        (collect_url + "?format=1", b"--x\r\n", {"Content-Type": "multipart/form-data; boundary=x"}),
        (collect_url + "?format=1&ks=%FF%FE", b"event[eventType]=3", {}),
        (track_url, b"{bad", {"Content-Type": "application/json"}),
        (kc.service_url + "/service/session/action/start?format=1", b"partnerId=abc&type=zz", {}),
    ]
    for url, data, headers in cases:
        status, _, body = http("POST", url, data, headers)
        assert status in (200, 400, 401), (url, data, status, body)


def test_persistence_across_restart(tmp_path):
    """Events stored before a restart are still there with the same --db, and a beacon
    re-sent after the restart is stored again, marked as a repeat of the one before."""
    db = tmp_path / "persist.db"
    with CollectorServer(db=db) as srv:
        url = srv.service_url + "/service/stats/action/collect"
        fields = {"format": "1", "event[partnerId]": "100", "event[entryId]": "e", "event[eventType]": "1",
                  "event[sessionId]": "p", "event[eventTimestamp]": "1", "event[beaconId]": "keep"}
        assert http("POST", url, fields)[2] == b"null"
    with CollectorServer(db=db) as srv:
        assert [e["beacon_id"] for e in srv.store.events()] == ["keep"]
        url = srv.service_url + "/service/stats/action/collect"
        assert http("POST", url, fields)[2] == b"null"
        first, again = srv.store.events()
        assert (again["beacon_id"], again["duplicate_of"]) == ("keep", first["seq"])
