"""Malformed and nonsense input: the error Kaltura would give (never HTTP 500), nothing stored.

API v3 answers HTTP 200 with a KalturaAPIException in the requested format; the
analytics endpoint (trackEvent) answers 400 for bad ids and 401 for a bad KS.
"""

import base64
import json
import math

import pytest

from collector_helpers import http, post_json, stats_fields

MULTI = "/service/multirequest"
SESSION_START = "/service/session/action/start?format=1"
TRACK = "/api_v3/index.php?service=analytics&action=trackEvent"
HUGE = 2**70
DEEP = '{"event": ' + "[" * 100_000 + "]" * 100_000 + "}"


def strict_json(body):
    """Parse an answer as JSON, refusing NaN/Infinity (which are not JSON)."""
    def refuse(token):
        raise ValueError(f"{token} is not JSON")
    return json.loads(body, parse_constant=refuse)


class RawJSON:
    """JSON text placed as is (Infinity, 1e999, an escaped lone surrogate)."""

    def __init__(self, text):
        self.text = text


def json_event(kc, **override):
    """The JSON body of a complete stats.collect event, some fields overridden (RawJSON: text as is)."""
    event = {"partnerId": kc.partner_id, "entryId": "0_bad", "eventType": 3, "sessionId": "bad-1",
             "eventTimestamp": 1700000000}
    event.update(override)
    items = ", ".join(f"{json.dumps(k)}: {v.text if isinstance(v, RawJSON) else json.dumps(v)}"
                      for k, v in event.items())
    return '{"event": {' + items + "}}"


def ks_v1_with_non_ascii_signature(kc):
    info = f"{kc.partner_id};{kc.partner_id};9999999999;0;1;user;;;"
    return base64.b64encode(("é" * 40 + "|" + info).encode("utf-8")).decode("ascii")


def api(kc, path, body, content_type="application/x-www-form-urlencoded"):
    """POST to the API v3 path; (status, JSON answer)."""
    if isinstance(body, dict):
        status, _, raw = http("POST", kc.service_url + path, body)
    else:
        status, _, raw = http("POST", kc.service_url + path, body, {"Content-Type": content_type})
    return status, strict_json(raw)


def collect_json(kc, text):
    return api(kc, "/service/stats/action/collect?format=1", text, "application/json")


def report_fields(kc, **extra):
    fields = {"ks": kc.ks(), "format": "1", "reportType": "1",
              "reportInputFilter[fromDate]": "0", "reportInputFilter[toDate]": "2000000000"}
    fields.update(extra)
    return fields


def multirequest_fields(kc, calls, extra=()):
    fields = {"ks": kc.ks(), "format": "1"}
    for n, event_type in calls:
        fields.update({f"{n}:service": "stats", f"{n}:action": "collect",
                       f"{n}:event:partnerId": str(kc.partner_id), f"{n}:event:entryId": "0_mr",
                       f"{n}:event:eventType": str(event_type), f"{n}:event:sessionId": "mr-bad",
                       f"{n}:event:eventTimestamp": "1700000000"})
    fields.update(dict(extra))
    return fields


# (id, request, expected code) — each of these answered HTTP 500 before.
API_CASES = [
    ("deeply nested JSON body", lambda kc: collect_json(kc, DEEP), "MISSING_MANDATORY_PARAMETER"),
    ("eventType 9.9e999 (form)",
     lambda kc: api(kc, "/service/stats/action/collect", stats_fields(kc, "s", "9.9e999")),
     "INVALID_ENUM_VALUE"),
    ("eventType JSON Infinity",
     lambda kc: collect_json(kc, json_event(kc, eventType=RawJSON("Infinity"))), "INVALID_ENUM_VALUE"),
    ("eventType JSON 1e999",
     lambda kc: collect_json(kc, json_event(kc, eventType=RawJSON("1e999"))), "INVALID_ENUM_VALUE"),
    ("eventType JSON -Infinity",
     lambda kc: collect_json(kc, json_event(kc, eventType=RawJSON("-Infinity"))), "INVALID_ENUM_VALUE"),
    ("partnerId 2**70 (form)",
     lambda kc: api(kc, "/service/stats/action/collect",
                    {**stats_fields(kc, "s", 3), "event[partnerId]": str(HUGE)}),
     "PROPERTY_VALIDATION_MAX_VALUE"),
    ("partnerId 2**70 (JSON)",
     lambda kc: collect_json(kc, json_event(kc, partnerId=HUGE)), "PROPERTY_VALIDATION_MAX_VALUE"),
    ("lone surrogate in a JSON string",
     lambda kc: collect_json(kc, json_event(kc, sessionId=RawJSON('"\\udcff"'))), "INVALID_PARAMETER_CHAR"),
    ("lone surrogate in a JSON field name",
     lambda kc: collect_json(kc, json_event(kc, **{"\udcff": 1})), "INVALID_PARAMETER_CHAR"),
    ("multirequest key of 5,000 digits",
     lambda kc: api(kc, MULTI, multirequest_fields(kc, [(1, 3)], {"9" * 5000 + ":service": "stats"})),
     [None]),
    ("multirequest key ² (superscript two)",
     lambda kc: api(kc, MULTI, multirequest_fields(kc, [(1, 3)], {"²:service": "stats", "²:action": "collect"})),
     [None]),
    ("multirequest JSON call under ²",
     lambda kc: api(kc, MULTI + "?format=1", json.dumps(
         {"ks": kc.ks(), "²": {"service": "stats", "action": "collect"},
          "1": {"service": "stats", "action": "collect", "event": json.loads(json_event(kc))["event"]}}),
         "application/json"), [None]),
    ("multirequest call with partnerId 2**70",
     lambda kc: api(kc, MULTI, multirequest_fields(kc, [(1, 3), (2, 3)], {"2:event:partnerId": str(HUGE)})),
     [None, "PROPERTY_VALIDATION_MAX_VALUE"]),
    ("KS v1 with a non-ASCII signature",
     lambda kc: api(kc, "/service/stats/action/collect",
                    stats_fields(kc, "s", 3, ks=ks_v1_with_non_ascii_signature(kc))), "INVALID_KS"),
    ("session.start partnerId 9.9e999",
     lambda kc: api(kc, SESSION_START, {"secret": kc.server.config.admin_secret, "partnerId": "9.9e999"}),
     "START_SESSION_ERROR"),
    ("session.start partnerId 2**70",
     lambda kc: api(kc, SESSION_START, {"secret": kc.server.config.admin_secret, "partnerId": str(HUGE)}),
     "START_SESSION_ERROR"),
    ("session.start expiry 9.9e999",
     lambda kc: api(kc, SESSION_START, {"secret": kc.server.config.admin_secret,
                                        "partnerId": str(kc.partner_id), "expiry": "9.9e999"}),
     "PROPERTY_VALIDATION_NUMERIC_VALUE"),
    ("report pager[pageSize] 9.9e999",
     lambda kc: api(kc, "/service/report/action/getTable", report_fields(kc, **{"pager[pageSize]": "9.9e999"})),
     "PROPERTY_VALIDATION_NUMERIC_VALUE"),
    ("report pager[pageIndex] 2**70",
     lambda kc: api(kc, "/service/report/action/getTable", report_fields(kc, **{"pager[pageIndex]": str(HUGE)})),
     "PROPERTY_VALIDATION_MAX_VALUE"),
    ("reportType 9.9e999",
     lambda kc: api(kc, "/service/report/action/getTotal", report_fields(kc, reportType="9.9e999")),
     "INVALID_ENUM_VALUE"),
    ("report entryIdIn as a JSON number",
     lambda kc: api(kc, "/service/report/action/getTable?format=1",
                    json.dumps({"ks": kc.ks(), "reportType": 1, "reportInputFilter": {"entryIdIn": 5},
                                "order": ["x"]}), "application/json"), "KalturaReportTable"),
]


@pytest.mark.parametrize("case, expected", [(c[1], c[2]) for c in API_CASES], ids=[c[0] for c in API_CASES])
def test_malformed_api_input_gets_kaltura_errors(kaltura_collector, case, expected):
    """Each input that used to answer HTTP 500 now gets Kaltura's error (HTTP 200), storing nothing bad."""
    status, answer = case(kaltura_collector)
    assert status == 200
    if isinstance(expected, list):  # a multirequest: None per call stored, the code per call refused
        assert [r and r["code"] for r in answer] == expected
    elif expected.startswith("Kaltura"):
        assert answer["objectType"] == expected
    else:
        assert answer["objectType"] == "KalturaAPIException" and answer["code"] == expected
    for ev in kaltura_collector.events():
        assert ev["partner_id"] == kaltura_collector.partner_id and ev["event_type"] == 3


TRACK_CASES = [
    ("eventType 2**70", lambda kc: {"eventType": str(HUGE), "partnerId": "100"}, 400),
    ("eventType 9.9e999", lambda kc: {"eventType": "9.9e999", "partnerId": "100"}, 400),
    ("partnerId 2**70", lambda kc: {"eventType": "10003", "partnerId": str(HUGE)}, 400),
    ("eventTimestamp 1e999", lambda kc: {"eventType": "10003", "partnerId": "100", "eventTimestamp": "1e999"},
     400),
    ("KS v1 with a non-ASCII signature",
     lambda kc: {"eventType": "10003", "partnerId": "100", "ks": ks_v1_with_non_ascii_signature(kc)}, 401),
]


@pytest.mark.parametrize("fields, expected", [(c[1], c[2]) for c in TRACK_CASES], ids=[c[0] for c in TRACK_CASES])
def test_malformed_track_event_gets_4xx(kaltura_collector, fields, expected):
    """trackEvent answers 400 (bad ids) or 401 (bad KS) with a JSON exception, never 500, storing nothing."""
    kc = kaltura_collector
    status, _, body = http("POST", kc.analytics_url + TRACK, fields(kc))
    assert status == expected and strict_json(body)["objectType"] == "KalturaAPIException"
    assert kc.events() == []


def test_track_event_json_infinity_and_surrogate(kaltura_collector):
    """trackEvent with JSON Infinity as eventType or a lone surrogate in its body answers 400."""
    kc = kaltura_collector
    url = kc.analytics_url + TRACK + "&partnerId=100"
    for text in ('{"eventType": Infinity}', '{"eventType": 1e999}',
                 '{"eventType": 10003, "pageName": "\\udcff"}'):
        status, _, body = http("POST", url, text, {"Content-Type": "application/json"})
        assert status == 400, text
        assert strict_json(body)["code"] in ("PROPERTY_VALIDATION_NUMERIC_VALUE", "INVALID_PARAMETER_CHAR")
    assert kc.events() == []


def test_dev_routes_with_out_of_range_numbers(kaltura_collector):
    """/dev/ks?expiry=9.9e999 and /dev/events?eventType=<21 digits> answer 400, not 500."""
    kc = kaltura_collector
    for path in ("/dev/ks?expiry=9.9e999", "/dev/events?eventType=" + "9" * 21, "/dev/events?since=%EF%BC%93",
                 "/dev/summary?from=nan"):
        status, _, body = http("GET", kc.base_url + path)
        assert status == 400, path


# (id, event field overrides, expected code) — each of these was stored before.
NONSENSE = [
    ("eventType 3.7", {"eventType": "3.7"}, "INVALID_ENUM_VALUE"),
    ("eventType fullwidth ３", {"eventType": "３"}, "INVALID_ENUM_VALUE"),
    ("eventType JSON true", {"eventType": True}, "INVALID_ENUM_VALUE"),
    ("partnerId -5", {"partnerId": "-5"}, "PROPERTY_VALIDATION_MIN_VALUE"),
    ("partnerId abc", {"partnerId": "abc"}, "PROPERTY_VALIDATION_NUMERIC_VALUE"),
    ("eventTimestamp NaN", {"eventTimestamp": "NaN"}, "PROPERTY_VALIDATION_NUMERIC_VALUE"),
    ("eventTimestamp inf", {"eventTimestamp": "inf"}, "PROPERTY_VALIDATION_NUMERIC_VALUE"),
    ("eventTimestamp abc", {"eventTimestamp": "abc"}, "PROPERTY_VALIDATION_NUMERIC_VALUE"),
    ("eventTimestamp JSON NaN", {"eventTimestamp": RawJSON("NaN")}, "PROPERTY_VALIDATION_NUMERIC_VALUE"),
    ("currentPoint 1e999", {"currentPoint": "1e999"}, "PROPERTY_VALIDATION_NUMERIC_VALUE"),
    ("duration -Infinity", {"duration": "-Infinity"}, "PROPERTY_VALIDATION_NUMERIC_VALUE"),
    ("seek maybe", {"seek": "maybe"}, "PROPERTY_VALIDATION_WRONG_FORMAT"),
    ("referrer with a control character", {"referrer": "a\x01b"}, "INVALID_PARAMETER_CHAR"),
]


@pytest.mark.parametrize("override, code", [(c[1], c[2]) for c in NONSENSE], ids=[c[0] for c in NONSENSE])
def test_nonsense_values_are_refused_not_stored(kaltura_collector, override, code):
    """Nonsense and non-finite values get Kaltura's validation error and are never stored."""
    kc = kaltura_collector
    status, answer = collect_json(kc, json_event(kc, **override))
    assert status == 200 and answer["code"] == code
    assert kc.events() == []


def test_track_event_nonsense_is_refused(kaltura_collector):
    """trackEvent: eventType 3.7 or ３, partnerId -5 or abc, eventTimestamp NaN answer 400 and store nothing."""
    kc = kaltura_collector
    for fields in ({"eventType": "3.7", "partnerId": "100"}, {"eventType": "３", "partnerId": "100"},
                   {"eventType": "10003", "partnerId": "-5"}, {"eventType": "10003", "partnerId": "abc"},
                   {"eventType": "10003", "partnerId": "100", "eventTimestamp": "NaN"}):
        assert http("POST", kc.analytics_url + TRACK, fields)[0] == 400, fields
    assert kc.events() == []


def test_valid_values_still_accepted(kaltura_collector):
    """Strict parsing keeps what a correct client sends: ints with spaces, floats, booleans, JSON numbers."""
    kc = kaltura_collector
    form = stats_fields(kc, "ok", " 3 ", currentPoint="12", duration="60", seek="true")
    form["event[eventTimestamp]"] = "1700000000.25"
    assert http("POST", kc.service_url + "/service/stats/action/collect", form)[2] == b"null"
    status, answer = collect_json(kc, json_event(kc, sessionId="ok", eventType=4, seek=False,
                                                 eventTimestamp=1.7e9))
    assert answer is None
    events = kc.events(session_id="ok")
    assert [e["event_type"] for e in events] == [3, 4]
    assert events[0]["event_timestamp"] == 1700000000.25 and events[0]["partner_id"] == kc.partner_id


def test_body_limit_answers_413(kaltura_collector):
    """A body over the 1 MiB default answers HTTP 413 (with CORS on the API) and stores nothing."""
    kc = kaltura_collector
    fields = stats_fields(kc, "big", 3, referrer="x" * (1024 * 1024 + 1))
    status, headers, body = http("POST", kc.service_url + "/service/stats/action/collect", fields,
                                 {"Origin": "http://localhost:9999"})
    assert status == 413 and strict_json(body)["code"] == "REQUEST_ENTITY_TOO_LARGE"
    assert headers["Access-Control-Allow-Origin"] == "http://localhost:9999"
    status, _, _ = post_json(kc.analytics_url + TRACK + "&eventType=10003&partnerId=100",
                             {"pageName": "y" * (1024 * 1024)})
    assert status == 413
    assert kc.events() == []


def test_body_limit_is_configurable():
    """create_app(body_limit=...) sets the limit: a body just over it is 413, one under it is stored."""
    from kaltura_web.collector.app import create_app

    app = create_app({"db": ":memory:", "web_root": None, "body_limit": 600})
    client = app.test_client()
    url = "/api_v3/service/stats/action/collect?format=1"
    small = {"event[partnerId]": "100", "event[entryId]": "e", "event[eventType]": "1",
             "event[sessionId]": "lim", "event[eventTimestamp]": "1"}
    assert client.post(url, data=small).get_data() == b"null"
    assert client.post(url, data={**small, "event[referrer]": "r" * 600}).status_code == 413
    assert len(app.extensions["kaltura_collector"].store.events()) == 1
    with pytest.raises(ValueError, match="body_limit"):
        create_app({"db": ":memory:", "body_limit": 0})
    with pytest.raises(TypeError, match="body_limit"):
        create_app({"db": ":memory:", "body_limit": "1MB"})


def test_reports_and_dashboard_stay_json_whatever_is_stored(loaded_with_nonsense):
    """An inf currentPoint/duration/eventTimestamp stored directly: reports, /dev/summary, /dev/events stay strict JSON."""
    kc = loaded_with_nonsense
    for action in ("getTable", "getTotal"):
        for report_type in (1, 13, 38):
            status, answer = api(kc, f"/service/report/action/{action}",
                                 report_fields(kc, reportType=str(report_type),
                                               **{"reportInputFilter[fromDate]": "-1e15",
                                                  "reportInputFilter[toDate]": "1e15"}))
            assert status == 200 and answer["objectType"].startswith("KalturaReport"), answer
            assert "inf" not in answer["data"].lower() and "nan" not in answer["data"].lower()
    table = api(kc, "/service/report/action/getTable", report_fields(kc, reportType="1"))[1]
    assert "0_fine,0_fine,1," in table["data"]
    for path in ("/dev/summary", "/dev/events", "/dev/verify"):
        status, _, body = http("GET", kc.base_url + path)
        assert status == 200 and b"Infinity" not in body and b"NaN" not in body, path
        strict_json(body)
    summary = strict_json(http("GET", kc.base_url + "/dev/summary")[2])
    assert summary["totals"]["plays"] == 6


def test_report_cli_json_stays_json(loaded_with_nonsense, capsys):
    """`kaltura-web report --json` over a store holding inf values prints strict JSON."""
    from kaltura_web.collector import __main__ as collector_main

    kc = loaded_with_nonsense
    assert collector_main.main(["report", "--db", kc.server.config.db, "--json"]) == 0
    data = strict_json(capsys.readouterr().out)
    assert data["totals"]["plays"] == 6


@pytest.fixture
def loaded_with_nonsense(kaltura_collector):
    """A normal PLAY plus events with inf/NaN values written straight into the store."""
    kc = kaltura_collector
    store = kc.server.store
    assert http("POST", kc.service_url + "/service/stats/action/collect",
                stats_fields(kc, "fine", 3, entry_id="0_fine", currentPoint=5, duration=10))[2] == b"null"
    inf, nan = float("inf"), float("nan")
    for n, (fields, ts) in enumerate([({"currentPoint": inf}, 1700000000),  # no duration: inf viewed
                                      ({"currentPoint": inf, "duration": 60}, 1700000000),
                                      ({"currentPoint": 5, "duration": inf}, inf),
                                      ({"currentPoint": nan, "duration": nan}, nan),
                                      ({"currentPoint": 1e308, "duration": 1e308}, -inf)]):
        store.insert(service="stats", fields=dict(fields, eventType=3), partner_id=100,
                     entry_id=f"0_odd{n}", event_type=3, session_id=f"odd-{n}", event_timestamp=ts,
                     user_id="u")
    assert math.isinf(store.events(session_id="odd-0")[0]["fields"]["currentPoint"])
    return kc
