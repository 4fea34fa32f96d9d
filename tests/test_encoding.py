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


def _stats(n, referrer=None):
    """Stats records e0..e(n-1) from one tracker (optionally with a referrer that sizes them)."""
    tracker = make_tracker(referrer=referrer)
    return [tracker.report(3, "e%d" % i) for i in range(n)]


def test_multirequest_numbers_each_call_and_names_its_action():
    """A multirequest body starts with ks and format, then each call as N:service=stats, N:action=collect, N:event:x."""
    records = _stats(2)
    req = encoding.encode_batch(records, "KS", "http://a/api_v3/")
    assert req.url == "http://a/api_v3/service/multirequest" and req.method == "POST"
    pairs = urllib.parse.parse_qsl(req.body)
    assert pairs[:5] == [("ks", "KS"), ("format", "1"), ("1:service", "stats"), ("1:action", "collect"),
                         ("1:event:objectType", "KalturaStatsEvent")]
    assert ("2:service", "stats") in pairs and ("2:event:beaconId", records[1]["i"]) in pairs
    assert not any(k.startswith(("0:", "3:")) for k, _ in pairs)
    assert req.beacon_ids == (records[0]["i"], records[1]["i"]) and req.beacon_id == records[0]["i"]


def test_a_batch_of_one_is_a_plain_stats_collect():
    """encode_batch of a single record (or one whose second call does not fit) sends it alone to stats.collect."""
    records = _stats(2)
    for req in (encoding.encode_batch(records[:1], None, "http://a/api_v3"),
                encoding.encode_batch(records, None, "http://a/api_v3", max_bytes=10)):
        assert req.url == "http://a/api_v3/service/stats/action/collect"
        assert req.beacon_ids == (records[0]["i"],) and "format=1" in req.body


def test_the_byte_cap_is_inclusive_and_counts_every_separator():
    """A cap equal to the whole body carries every call; one byte less drops the last call."""
    records = _stats(3)
    whole = encoding.encode_batch(records, "KS", "http://a/api_v3")
    assert len(whole.beacon_ids) == 3
    assert encoding.encode_batch(records, "KS", "http://a/api_v3", max_bytes=len(whole.body)).body == whole.body
    two = encoding.encode_batch(records, "KS", "http://a/api_v3", max_bytes=len(whole.body) - 1)
    assert two.beacon_ids == whole.beacon_ids[:2] and whole.body.startswith(two.body + "&3%3A")


def test_the_byte_cap_keeps_order_rather_than_skip_a_large_call():
    """When the second call does not fit, a smaller third one is not sent ahead of it."""
    small = _stats(1)[0]
    large = dict(small, i="large", r="x" * 3000)
    later = dict(small, i="later")
    req = encoding.encode_batch([small, large, later], "KS", "http://a/api_v3", max_bytes=1500)
    assert req.beacon_ids == (small["i"],)


def test_the_default_cap_is_60000_characters():
    """Without max_bytes a multirequest body may reach exactly 60000 characters and never one more."""
    records = _stats(40, referrer="r" * 1900)

    def length(some):
        return len(encoding.encode_batch(some, "KS", "http://a/api_v3", max_bytes=10 ** 6).body)

    n = max(k for k in range(2, 40) if length(records[:k]) <= 60000)
    records[n - 1] = dict(records[n - 1], r=records[n - 1]["r"] + "r" * (60000 - length(records[:n])))
    assert length(records[:n]) == 60000
    exact = encoding.encode_batch(records, "KS", "http://a/api_v3")
    assert exact.beacon_ids == tuple(r["i"] for r in records[:n])
    records[n - 1] = dict(records[n - 1], r=records[n - 1]["r"] + "r")
    assert len(encoding.encode_batch(records, "KS", "http://a/api_v3").beacon_ids) == n - 1


def test_endpoints_lose_trailing_slashes_only():
    """Each endpoint is its base URL without trailing slashes plus the action path."""
    track = make_tracker().page_load("lobby")
    stats = _stats(1)[0]
    assert encoding.encode(stats, None, "http://h/API_X//", "http://a/").url == \
        "http://h/API_X/service/stats/action/collect"
    assert encoding.encode(track, None, "http://h/api_v3", "http://a/X/").url == \
        "http://a/X/api_v3/index.php?service=analytics&action=trackEvent"


def test_a_single_track_head_goes_to_the_analytics_origin():
    """encode_head of one trackEvent record uses the analytics URL, never the service URL."""
    track = make_tracker().page_load("lobby")
    req, reason = encoding.encode_head([track], "KS", "http://service.test/api_v3", "http://analytics.test")
    assert reason is None and req.url.startswith("http://analytics.test/")


def test_request_repr_names_method_url_and_size():
    """A request shows its method, URL and body size, not its body (which holds the KS)."""
    req = encoding.Request("s", "b1", "http://a/x", "ks=secret")
    assert repr(req) == "Request(POST http://a/x, 9 bytes)"


def test_encode_head_stops_before_the_first_unencodable_record_wherever_it_is():
    """With the third of five records corrupt, the request carries the first two."""
    records = _stats(5)
    records[2] = dict(records[2], n="e\udcff")
    req, reason = encoding.encode_head(records, "ks", "http://a/api_v3", "http://a")
    assert reason is None and req.beacon_ids == (records[0]["i"], records[1]["i"])


def test_encode_head_falls_back_to_the_head_alone_when_records_cannot_share_a_request():
    """Records that each encode but not together (a trackEvent record among stats ones) give the head alone."""
    stats = _stats(2)
    stray = make_tracker().page_load("lobby")
    req, reason = encoding.encode_head([stats[0], stray, stats[1]], "ks", "http://a/api_v3", "http://a")
    assert reason is None and req.beacon_ids == (stats[0]["i"],)
    assert req.url.endswith("/service/stats/action/collect")


def _unencodable_reason(length):
    """A value whose UnicodeEncodeError repr is exactly ``length`` characters, and that repr."""
    for k in range(400):
        value = "a" * k + "\udcff"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            if len(repr(exc)) == length:
                return value, repr(exc)
    raise AssertionError("no value gives a repr of %d characters" % length)


def test_a_dead_letter_reason_is_at_most_200_characters_of_the_error():
    """The reason quotes the encoding error whole up to 200 characters, and cuts a longer one to 197 and '...'."""
    stats = _stats(1)[0]
    for length in (200, 201):
        value, shown = _unencodable_reason(length)
        req, reason = encoding.encode_head([dict(stats, n=value)], "ks", "http://a/api_v3", "http://a")
        expected = shown if length <= 200 else shown[:197] + "..."
        assert req is None and reason == "cannot be encoded: " + expected


def test_context_and_fields_that_are_empty_are_left_out():
    """An empty referrer in the context or an empty trackEvent field is not sent at all."""
    stats = encoding.stats_record("b1", 3, 1, "e", "s", T0, {"u": 5, "c": "", "r": None})
    assert "c" not in stats and "r" not in stats and stats["u"] == 5
    track = encoding.track_record("b2", 10003, 1, T0 + 0.9, {"pageType": "", "pageName": "lobby"})
    assert "pt" not in track and track["pn"] == "lobby" and track["t"] == int(T0)


@pytest.mark.parametrize("duration, sent", [(0, None), (0.4, 0), (0.5, 1), (99.5, 100), (None, None)])
def test_duration_is_rounded_and_only_sent_when_positive(duration, sent):
    """A zero or unknown duration is left out; a positive one is rounded to the nearest second."""
    record = encoding.stats_record("b1", 2, 1, "e", "s", T0, duration=duration)
    assert record.get("d") == sent


def test_worst_outcome_follows_the_documented_order():
    """accepted < bad_beacon < transient < config < auth, whatever order they come in."""
    order = ["accepted", "bad_beacon", "transient", "config", "auth"]
    for i, mild in enumerate(order):
        for worse in order[i:]:
            assert encoding.worst_outcome([worse, mild]) == worse == encoding.worst_outcome([mild, worse])
    assert encoding.worst_outcome([]) == "accepted"


@pytest.mark.parametrize("status, body, expected", [
    (None, "", ("transient", "network error")),
    (401, "", ("auth", "HTTP 401")),
    (404, "", ("config", "HTTP 404: wrong service or analytics URL")),
    (408, "", ("transient", "HTTP 408")),
    (429, "", ("transient", "HTTP 429")),
    (500, "", ("transient", "HTTP 500")),
    (200, "null", ("accepted", "HTTP 200")),
    (204, "", ("accepted", "HTTP 204")),
    (299, "", ("accepted", "HTTP 299")),
    (300, "", ("config", "HTTP 300 redirect: check the endpoint URL")),
    (399, "", ("config", "HTTP 399 redirect: check the endpoint URL")),
    (400, "", ("bad_beacon", "HTTP 400")),
    (409, "", ("bad_beacon", "HTTP 409")),
    (200, '{"objectType":"KalturaAPIException"}', ("bad_beacon", "UNKNOWN")),
    (200, "<xml><error><objectType>KalturaAPIException</objectType><code></code></error></xml>",
     ("bad_beacon", "UNKNOWN")),
    (200, '{"objectType":"KalturaAPIException","code":"KS_EXPIRED"}', ("auth", "KS_EXPIRED")),
    (200, '{"objectType":"KalturaAPIException","code":"EXPIRED_KS"}', ("auth", "EXPIRED_KS")),
    (200, '{"objectType":"KalturaAPIException","code":"INVALID_USER_ID"}', ("auth", "INVALID_USER_ID")),
    (200, '{"objectType":"KalturaAPIException","code":"INTERNAL_SERVERL_ERROR"}',
     ("transient", "INTERNAL_SERVERL_ERROR")),
    (200, '{"objectType":"KalturaAPIException","code":"SERVICE_TEMPORARILY_UNAVAILABLE"}',
     ("transient", "SERVICE_TEMPORARILY_UNAVAILABLE")),
])
def test_classify_gives_the_outcome_and_its_reason(status, body, expected):
    """Each kind of answer gets its outcome and the reason that logs and dead letters show (the Kaltura code when there is one)."""
    assert encoding.classify(status, body) == expected


def test_error_codes_are_kept_short_and_printable():
    """A code of up to 100 characters is kept as is; a longer or unencodable one is stored as a short repr."""
    def code_of(code):
        return encoding.classify(200, '{"objectType":"KalturaAPIException","code":"%s"}' % code)[1]

    assert code_of("C" * 100) == "C" * 100
    assert code_of("C" * 101) == repr("C" * 100)
    assert code_of("BAD\\udcff") == repr("BAD\udcff")


def test_multirequest_slots_are_accepted_or_classified_by_their_code():
    """Each slot of a multirequest answer is judged on its own; a list of the wrong length fails them all."""
    body = '[true, {"objectType":"KalturaAPIException","code":"KS_EXPIRED"}, null]'
    assert encoding.classify_batch(200, body, 3) == [("accepted", "HTTP 200"), ("auth", "KS_EXPIRED"),
                                                     ("accepted", "HTTP 200")]
    assert encoding.classify_batch(200, "[true]", 2) == [("transient", "malformed multirequest answer")] * 2
    assert encoding.classify_batch(200, "null", 1) == [("accepted", "HTTP 200")]


def test_a_track_record_keeps_its_stored_layout():
    """A trackEvent record's short keys are a stored format (older queues are read back): each field has its key."""
    fields = {"entryId": "1_x", "kalturaApplication": "app", "pageType": "PT", "pageName": "PN", "buttonType": "BT",
              "buttonName": "BN", "sessionId": "S1", "pageValue": "PV", "pageInfo": "PI", "buttonValue": "BV",
              "buttonInfo": "BI"}
    record = encoding.track_record("b1", 10002, 7, T0 + 0.5, fields, {"ui": "U", "av": "2.1", "ve": 9, "u": 5})
    assert record == {"i": "b1", "k": "t", "e": 10002, "p": 7, "t": int(T0), "n": "1_x", "a": "app", "pt": "PT",
                      "pn": "PN", "bt": "BT", "bn": "BN", "s": "S1", "pv": "PV", "pi": "PI", "bv": "BV", "bi": "BI",
                      "ui": "U", "av": "2.1", "ve": 9}


def test_a_stats_record_stores_seek_as_one_or_zero():
    """The stored seek flag is 1 or 0 (the wire says true or false)."""
    assert encoding.stats_record("b1", 17, 1, "e", "s", T0, seek=True)["sk"] == 1
    assert encoding.stats_record("b1", 17, 1, "e", "s", T0, seek=False)["sk"] == 0


def test_a_multirequest_url_loses_trailing_slashes_only():
    """The multirequest endpoint is the service URL without trailing slashes plus /service/multirequest."""
    req = encoding.encode_batch(_stats(2), None, "http://h/API_X//")
    assert req.url == "http://h/API_X/service/multirequest"


def test_encode_batch_refuses_track_records():
    """Only stats.collect records can share a multirequest, even alone."""
    track = make_tracker().page_load("lobby")
    with pytest.raises(ValueError, match="only stats.collect beacons can share a multirequest"):
        encoding.encode_batch([track], None, "http://a/api_v3")
