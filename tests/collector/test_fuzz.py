"""Random requests against the collector's endpoints (Hypothesis, Flask test client).

Whatever the service, action, field names, values (huge, non-finite, unicode,
lone surrogates, deep nesting), multirequest indexes, format and body
encoding: the answer is never HTTP 500 and always parses in its format, and
nothing stored is non-finite, out of range or unencodable; reports and the
dashboard summary stay valid JSON over whatever was stored.
"""

import json
import math
import time
import urllib.parse
import xml.etree.ElementTree as ET

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from kaltura_web.collector.app import create_app
from kaltura_web.collector.config import DEFAULT_ADMIN_SECRET
from kaltura_web.collector.routes.api_v3 import read_stats_event
from kaltura_web.collector.ks import make_ks_v1, make_ks_v2
from kaltura_web.collector.values import INT32_MAX, xml_valid

PARTNER = 100
NOW = int(time.time())
KS_VALUES = [make_ks_v2(PARTNER, DEFAULT_ADMIN_SECRET, "fuzz@example.com", 0, NOW + 86400, {"appId": "fuzz"}),
             make_ks_v2(PARTNER, DEFAULT_ADMIN_SECRET, "old", 0, NOW - 60),
             make_ks_v1(PARTNER, DEFAULT_ADMIN_SECRET, "v1user", 0, NOW + 86400),
             "djJ8MTAwfG5vdCBhIGtz", "garbage", "\udcff", ""]
SPECIAL_TEXT = ["9.9e999", "1e999", "-1e999", "Infinity", "-Infinity", "NaN", "nan", "inf", "３", "²", "٣", "3.7",
                "-5", "0", "1", "3", "40", "41", "10003", "true", "false", "", " ", "\udcff", "\x00", "\x01",
                "a\udcffb", str(2**70), "1_0", "0x10", "abc", "20240101", "１２"]
NAMES = ["stats", "collect", "analytics", "trackEvent", "session", "start", "report", "getTable", "getTotal",
         "multirequest", "media", "list"]
FIELDS = ["eventType", "partnerId", "entryId", "sessionId", "eventTimestamp", "currentPoint", "duration", "seek",
          "newPoint", "uiconfId", "referrer", "beaconId", "featureType", "isFirstInSession", "objectType",
          "contextId", "pageSize", "pageIndex", "fromDate", "toDate", "fromDay", "entryIdIn", "delimiter"]
TOP = ["ks", "format", "service", "action", "partnerId", "eventType", "secret", "userId", "type", "expiry",
       "privileges", "reportType", "objectIds", "order", "callback", "clientTag", "pageName", "entryId",
       "sessionId", "eventTimestamp", "beaconId", "appId", "since"]
OBJECTS = ["event", "pager", "reportInputFilter", "responseOptions"]
# target: (paths, service/action for /api_v3/index.php)
TARGETS = {
    "stats": (["/api_v3/service/stats/action/collect", "/api_v3/index.php"], ("stats", "collect")),
    "multirequest": (["/api_v3/service/multirequest", "/api_v3/index.php/service/multirequest",
                      "/api_v3/index.php"], ("multirequest", None)),
    "track": (["/api_v3/index.php", "/api_v3/service/analytics/action/trackEvent",
               "/api_v3/index.php/service/analytics/action/trackevent"], ("analytics", "trackEvent")),
    "session": (["/api_v3/service/session/action/start", "/api_v3/"], ("session", "start")),
    "report": (["/api_v3/service/report/action/getTable", "/api_v3/service/report/action/getTotal"], None),
    "other": (["/api_v3/service/media/action/list", "/api_v3/index.php", "/api_v3/nothing"], None),
    "dev": (["/dev/ks", "/dev/events", "/dev/summary", "/dev/verify", "/dev/sessions", "/dev/info"], None),
}
CONTENT_TYPES = ["application/json", "application/x-www-form-urlencoded", "text/plain",
                 "multipart/form-data; boundary=xx", "application/json; charset=utf-8", "application/xml"]
ANSWER_STATUSES = {200, 400, 401, 403, 404, 405, 413}

text = st.one_of(st.sampled_from(SPECIAL_TEXT), st.text(st.characters(exclude_categories=()), max_size=12),
                 st.integers(20, 5000).map(lambda n: "9" * n))  # far past any integer range
scalar = st.one_of(text, st.sampled_from(NAMES + KS_VALUES), st.integers(-2**80, 2**80),
                   st.floats(allow_nan=True, allow_infinity=True), st.booleans(), st.none())
values = st.recursive(scalar, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                      st.dictionaries(text, inner, max_size=3)), max_leaves=6)
field_name = st.one_of(st.sampled_from(FIELDS), text)
call_index = st.one_of(st.integers(0, 4).map(str), st.sampled_from(["²", "01", "-1", "１"]),
                       st.integers(10, 5000).map(lambda n: "9" * n))
keys = st.one_of(
    st.sampled_from(TOP),
    st.builds("{}[{}]".format, st.sampled_from(OBJECTS), field_name),
    st.builds("{}:{}".format, st.sampled_from(OBJECTS), field_name),
    st.builds("{}:{}".format, call_index, st.one_of(st.sampled_from(["service", "action", "ks"]),
                                                     st.builds("event:{}".format, field_name))),
    text)


def good_event(prefix=""):
    """Fields of a valid stats.collect event (so fuzzed requests also reach the store)."""
    return {f"{prefix}event:partnerId": str(PARTNER), f"{prefix}event:entryId": "0_fuzz",
            f"{prefix}event:eventType": "3", f"{prefix}event:sessionId": "fuzz",
            f"{prefix}event:eventTimestamp": str(NOW)}


def base_params(target, calls):
    """Valid params of a target, which the fuzzed ones then override or extend."""
    if target == "stats":
        return dict(good_event(), ks=KS_VALUES[0])
    if target == "multirequest":
        params = {"ks": KS_VALUES[0]}
        for n in range(1, calls + 1):
            params.update(good_event(f"{n}:"), **{f"{n}:service": "stats", f"{n}:action": "collect"})
        return params
    if target == "track":
        return {"eventType": "10003", "partnerId": str(PARTNER), "pageName": "p", "ks": KS_VALUES[0]}
    if target == "session":
        return {"secret": DEFAULT_ADMIN_SECRET, "partnerId": str(PARTNER), "userId": "u"}
    if target == "report":
        return {"ks": KS_VALUES[0], "reportType": "1", "reportInputFilter:fromDate": "0"}
    return {}


@st.composite
def requests(draw):
    """(method, path, query string, body bytes, content type) of one random request."""
    target = draw(st.sampled_from(sorted(TARGETS)))
    paths, names = TARGETS[target]
    path = draw(st.sampled_from(paths))
    params = base_params(target, draw(st.integers(1, 3))) if draw(st.integers(0, 4)) else {}
    if path in ("/api_v3/index.php", "/api_v3/") and names:
        params.update(zip(("service", "action"), [n for n in names if n]))
    params.update(draw(st.dictionaries(keys, values, max_size=4)))
    fmt = draw(st.sampled_from([None, "1", "2", "9", "x"]))
    if fmt is not None:
        params["format"] = fmt
    encoding = draw(st.sampled_from(["form", "form", "json", "json", "query", "raw"]))
    query, body, content_type = {}, b"", draw(st.sampled_from(CONTENT_TYPES))
    if encoding == "query":
        query = params
    elif encoding == "form":
        body, content_type = encode_pairs(params), "application/x-www-form-urlencoded"
    elif encoding == "json":
        content_type = "application/json"
        body = json_body(params, draw(st.integers(0, 120)) if draw(st.integers(0, 9)) == 0 else 0)
    else:
        body = draw(st.one_of(st.binary(max_size=200), st.just(b"[" * 5000 + b"]" * 5000),
                              st.just(b'{"event": {"eventType": Infinity}}')))
    method = "GET" if target == "dev" else draw(st.sampled_from(["POST", "POST", "GET"]))
    return method, path, encode_pairs(query).decode("ascii"), body, content_type


def encode_pairs(params) -> bytes:
    """Form/query encoding of any values (lone surrogates travel as the bytes they would be)."""
    def enc(value):
        return urllib.parse.quote_plus(str(value).encode("utf-8", "surrogatepass"))
    return "&".join(f"{enc(k)}={enc(v)}" for k, v in params.items()).encode("ascii")


def json_body(params, depth) -> bytes:
    """A JSON body: "obj:x" and "obj[x]" keys become nested objects; NaN/Infinity appear as tokens."""
    out = {}
    for key, value in params.items():
        for sep in (":", "["):
            head, found, rest = key.partition(sep)
            if found and head in OBJECTS + ["1", "2", "3"] and rest:
                out.setdefault(head, {})
                if isinstance(out[head], dict):
                    out[head][rest.rstrip("]")] = value
                break
        else:
            out[key] = value
    for _ in range(depth):
        out = {"event": [out]}
    return json.dumps(out, allow_nan=True).encode("utf-8")


def strict_json(body):
    def refuse(token):
        raise ValueError(f"{token} in a JSON answer")
    return json.loads(body, parse_constant=refuse)


def check_answer(response):
    """The answer parses in the format it declares."""
    body = response.get_data()
    mimetype = response.mimetype
    if mimetype == "application/json":
        strict_json(body)
    elif mimetype == "text/xml":
        ET.fromstring(body)
    elif mimetype == "text/javascript":
        inner = body.decode("utf-8")
        strict_json(inner[inner.index("(") + 1:inner.rindex(")")])
    else:
        raise AssertionError(f"unexpected answer type {mimetype}: {body[:200]!r}")


def walk(value):
    """Every scalar inside a stored fields object (keys included)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        else:
            yield item


def check_stored(event):
    """A stored event holds nothing non-finite, out of range or unencodable."""
    assert isinstance(event["event_type"], int) and isinstance(event["partner_id"], int), event
    assert 1 <= event["partner_id"] <= INT32_MAX
    if event["service"] == "stats":
        assert 1 <= event["event_type"] <= 40
        read_stats_event(event["fields"])  # the typed fields stored parse strictly
    else:
        assert 1 <= event["event_type"] <= INT32_MAX
    ts = event["event_timestamp"]
    assert ts is None or (math.isfinite(ts) and 0 <= ts <= 2**53)
    for item in walk(event["fields"]):
        assert not (isinstance(item, float) and not math.isfinite(item)), event
        assert not isinstance(item, str) or xml_valid(item), event
    for column in ("entry_id", "session_id", "beacon_id", "user_id", "app_id"):
        assert event[column] is None or xml_valid(event[column])


def check_reports(client, ks):
    """Reports and the dashboard summary answer valid JSON over what is stored."""
    for action in ("getTable", "getTotal"):
        for report_type in (1, 13, 38):
            response = client.post(f"/api_v3/service/report/action/{action}", data={
                "ks": ks, "format": "1", "reportType": str(report_type),
                "reportInputFilter[fromDate]": "0", "reportInputFilter[toDate]": str(2**40)})
            assert response.status_code == 200
            assert strict_json(response.get_data())["objectType"].startswith("KalturaReport")
    response = client.get("/dev/summary")
    assert response.status_code == 200
    strict_json(response.get_data())


@pytest.fixture(scope="module")
def fuzz_app():
    return create_app({"db": ":memory:", "web_root": None})


@settings(max_examples=250, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
@given(request=requests())
def test_random_requests_never_500_and_store_nothing_bad(fuzz_app, request):
    """No random request answers 500, every answer parses, nothing stored is non-finite or out of range."""
    method, path, query, body, content_type = request
    store = fuzz_app.extensions["kaltura_collector"].store
    before = store.latest_seq()
    client = fuzz_app.test_client()
    response = client.open(path, method=method, query_string=query, data=body, content_type=content_type)
    assert response.status_code in ANSWER_STATUSES, (response.status_code, response.get_data()[:300])
    check_answer(response)
    stored = store.events(since_seq=before)
    event(f"HTTP {response.status_code}, {'stored' if stored else 'nothing stored'}")
    for stored_event in stored:
        check_stored(stored_event)
    if stored:
        check_reports(client, KS_VALUES[0])
