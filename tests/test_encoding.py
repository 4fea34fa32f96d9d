import urllib.parse

import pytest

from kaltura_web.core import encoding
from kaltura_web.core._compat import urlencode
from tests.fakes import T0, make_tracker


def test_stats_beacon_matches_guide_fields():
    """A stats.collect beacon carries the guide's curl fields, field for field, plus a beacon id."""
    tracker = make_tracker(referrer="kiosk://device-001", uiconf_id=55, client_ver="v1")
    record = tracker.report(3, "1_abc", session_id="sess-1", current_point=12.9, duration=99.6)
    req = encoding.encode(record, "KS123", tracker.service_url, tracker.analytics_url)
    assert req.url == "http://collector.test/api_v3/service/stats/action/collect"
    assert req.headers["Content-Type"] == "application/x-www-form-urlencoded"
    pairs = urllib.parse.parse_qsl(req.body)
    names = [k for k, _ in pairs]
    assert names == ["ks", "format", "event[objectType]", "event[partnerId]", "event[entryId]",
                     "event[eventType]", "event[sessionId]", "event[eventTimestamp]", "event[uiconfId]",
                     "event[clientVer]", "event[referrer]", "event[currentPoint]", "event[duration]",
                     "event[beaconId]"]
    f = dict(pairs)
    assert f["ks"] == "KS123" and f["format"] == "1" and f["event[objectType]"] == "KalturaStatsEvent"
    assert f["event[partnerId]"] == "4242" and f["event[eventTimestamp]"] == str(int(T0))
    assert f["event[currentPoint]"] == "12" and f["event[duration]"] == "100"
    assert f["event[referrer]"] == "kiosk://device-001"


def test_seek_is_true_false_text():
    """seek travels as the words true/false."""
    tracker = make_tracker()
    on = dict(urllib.parse.parse_qsl(encoding.encode(tracker.report(17, "e", seek=True), None, "http://a/api_v3", "http://a").body))
    off = dict(urllib.parse.parse_qsl(encoding.encode(tracker.report(17, "e", seek=False), None, "http://a/api_v3", "http://a").body))
    assert on["event[seek]"] == "true" and off["event[seek]"] == "false"
    assert "ks" not in on


def test_track_event_fields_and_empty_omitted():
    """trackEvent goes to the analytics origin's index.php with only non-empty fields."""
    tracker = make_tracker(application="events-portal")
    record = tracker.button_click("cta", "register-now", entry_id="1_abc")
    req = encoding.encode(record, "KS", tracker.service_url, tracker.analytics_url)
    assert req.url == "http://collector.test/api_v3/index.php?service=analytics&action=trackEvent"
    pairs = urllib.parse.parse_qsl(req.body)
    assert [k for k, _ in pairs] == ["ks", "format", "eventType", "partnerId", "entryId",
                                     "kalturaApplication", "buttonType", "buttonName", "beaconId"]
    assert dict(pairs)["eventType"] == "10002"
    page = dict(urllib.parse.parse_qsl(encoding.encode(tracker.page_load("lobby"), "KS", "http://a/api_v3", "http://a").body))
    assert "pageName" not in page and "entryId" not in page and page["pageType"] == "lobby"


def test_records_never_hold_the_ks():
    """The queued record is KS-free: the KS is attached only when encoding."""
    tracker = make_tracker(ks="secret-ks-value")
    tracker.report(1, "e")
    tracker.page_load("lobby")
    assert "secret-ks-value" not in repr(tracker.queued())


@pytest.mark.parametrize("status, body, outcome", [
    (200, "null", encoding.ACCEPTED),
    (200, "", encoding.ACCEPTED),
    (200, '{"time": 1.5, "viewEventsEnabled": true}', encoding.ACCEPTED),
    (200, '{"code":"INVALID_KS","objectType":"KalturaAPIException"}', encoding.AUTH),
    (200, "<xml><result><error><objectType>KalturaAPIException</objectType><code>INVALID_KS</code></error></result></xml>", encoding.AUTH),
    (401, "", encoding.AUTH),
    (200, '{"code":"MISSING_MANDATORY_PARAMETER","objectType":"KalturaAPIException"}', encoding.BAD_BEACON),
    (200, '{"code":"INVALID_ENUM_VALUE","objectType":"KalturaAPIException"}', encoding.BAD_BEACON),
    (400, "", encoding.BAD_BEACON),
    (404, "", encoding.CONFIG),
    (500, "", encoding.TRANSIENT),
    (503, "", encoding.TRANSIENT),
    (429, "", encoding.TRANSIENT),
    (None, "", encoding.TRANSIENT),
])
def test_classify(status, body, outcome):
    """Answers are classified as accepted, auth, bad beacon, misconfigured endpoint or transient."""
    assert encoding.classify(status, body)[0] == outcome


def test_form_encoding_round_trips_unicode_and_reserved():
    """Our form encoder (MicroPython has no urllib) agrees with urllib's decoder."""
    pairs = [("event[referrer]", "https://x.example/a b?c=d&e=é"), ("k", "+/=~")]
    assert urllib.parse.parse_qsl(urlencode(pairs)) == pairs


@pytest.mark.parametrize("body", ["{" * 100000, '{"a":' * 50000 + "1" + "}" * 50000, "[" * 100000])
def test_classify_survives_absurdly_nested_answers(body):
    """An answer nested deeper than the JSON parser can go is classified, never raised (it would stop flush)."""
    assert encoding.classify(200, body)[0] in (encoding.ACCEPTED, encoding.BAD_BEACON)
    outcomes = encoding.classify_batch(200, body, 3)
    assert [o[0] for o in outcomes] == [encoding.TRANSIENT] * 3


def test_encode_head_sends_the_encodable_prefix_and_names_the_culprit():
    """encode_head carries the records before the first unencodable one, and reports that one when it is the head."""
    tracker = make_tracker()
    records = [tracker.report(3, "e%d" % i) for i in range(4)]
    records[2] = dict(records[2], n="e\udcff")
    req, reason = encoding.encode_head(records, "ks", tracker.service_url, tracker.analytics_url)
    assert reason is None and req.beacon_ids == (records[0]["i"], records[1]["i"])
    req, reason = encoding.encode_head(records[2:], "ks", tracker.service_url, tracker.analytics_url)
    assert req is None and reason.startswith("cannot be encoded: UnicodeEncodeError")
    assert reason.encode("utf-8")  # the reason itself can be stored and printed
