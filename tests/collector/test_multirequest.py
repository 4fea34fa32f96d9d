import json

from collector_helpers import http


def _call(n, event_type, beacon, session="mr-1"):
    fields = {"service": "stats", "action": "collect", "event:objectType": "KalturaStatsEvent",
              "event:partnerId": 100, "event:entryId": "0_mr", "event:eventType": event_type,
              "event:sessionId": session, "event:eventTimestamp": 1700000000 + n,
              "event:beaconId": beacon}
    return {"%d:%s" % (n, k): v for k, v in fields.items()}


def test_multirequest_runs_calls_in_order_with_one_result_each(kaltura_collector):
    """A multirequest stores its stats.collect calls in order and answers a result per call, errors in place."""
    kc = kaltura_collector
    data = {"ks": kc.ks("viewer@example.com", app_id="mr"), "format": 1}
    for n, event_type in enumerate((1, 2, 77, 3), 1):
        data.update(_call(n, event_type, "b%d" % n))
    status, _, body = http("POST", kc.service_url + "/service/multirequest", data)
    results = json.loads(body)
    assert status == 200 and results[0] is None and results[1] is None and results[3] is None
    assert results[2]["code"] == "INVALID_ENUM_VALUE"
    events = kc.events(session_id="mr-1")
    assert [e["event_type"] for e in events] == [1, 2, 3]
    assert {e["user_id"] for e in events} == {"viewer@example.com"}


def test_multirequest_resent_batch_is_stored_again(kaltura_collector):
    """Re-sending a batch (its answer was lost) stores each beacon again, marked as a duplicate."""
    kc = kaltura_collector
    data = {"ks": kc.ks(), "format": 1}
    data.update(_call(1, 1, "dup-1"))
    data.update(_call(2, 2, "dup-2"))
    for _ in range(2):
        assert http("POST", kc.service_url + "/service/multirequest", data)[0] == 200
    assert [e["beacon_id"] for e in kc.events(session_id="mr-1")] == ["dup-1", "dup-2"]
    arrivals = kc.events(session_id="mr-1", duplicates=True)
    assert [e["beacon_id"] for e in arrivals] == ["dup-1", "dup-2", "dup-1", "dup-2"]
    assert [e["duplicate_of"] for e in arrivals[2:]] == [e["seq"] for e in arrivals[:2]]
    assert kc.duplicates() == ["dup-1", "dup-2"]


def test_multirequest_with_a_bad_ks_rejects_every_call(kaltura_collector):
    """A bad KS gives INVALID_KS for each call and stores nothing."""
    kc = kaltura_collector
    data = {"ks": "djJ8bm90LWEta3M=", "format": 1}
    data.update(_call(1, 1, "x1"))
    data.update(_call(2, 3, "x2"))
    results = json.loads(http("POST", kc.service_url + "/service/multirequest", data)[2])
    assert [r["code"] for r in results] == ["INVALID_KS", "INVALID_KS"]
    assert kc.events() == []


def test_faults_apply_to_multirequest(kaltura_collector):
    """Injected 500s hit multirequest like stats.collect, storing nothing."""
    kc = kaltura_collector
    kc.faults.fail_next(1, status=500)
    data = {"ks": kc.ks(), "format": 1}
    data.update(_call(1, 1, "f1"))
    assert http("POST", kc.service_url + "/service/multirequest", data)[0] == 500
    assert kc.events() == []
    assert http("POST", kc.service_url + "/service/multirequest", data)[0] == 200


def test_one_failing_call_does_not_undo_the_others(kaltura_collector):
    """Calls run independently: a call refused in the middle leaves the calls around it stored."""
    kc = kaltura_collector
    data = {"ks": kc.ks(), "format": 1}
    for n, beacon in enumerate(("ok-1", "bad-2", "ok-3"), 1):
        data.update(_call(n, 3, beacon))
    data["2:event:partnerId"] = str(2**70)
    status, _, body = http("POST", kc.service_url + "/service/multirequest", data)
    results = json.loads(body)
    assert status == 200 and results[0] is None and results[2] is None
    assert results[1]["code"] == "PROPERTY_VALIDATION_MAX_VALUE"
    assert [e["beacon_id"] for e in kc.events(session_id="mr-1")] == ["ok-1", "ok-3"]


def test_reading_stops_at_the_first_index_without_service_or_action(kaltura_collector):
    """Like Kaltura, calls are read from 1 up to the first index lacking service or action."""
    kc = kaltura_collector
    data = {"ks": kc.ks(), "format": 1}
    for n in (1, 2, 4):
        data.update(_call(n, 3, "gap-%d" % n))
    results = json.loads(http("POST", kc.service_url + "/service/multirequest", data)[2])
    assert results == [None, None]
    data = {"ks": kc.ks(), "format": 1}
    for n in (1, 2, 3):
        data.update(_call(n, 3, "noaction-%d" % n))
    del data["2:action"]
    results = json.loads(http("POST", kc.service_url + "/service/multirequest", data)[2])
    assert results == [None]
    assert [e["beacon_id"] for e in kc.events(session_id="mr-1")] == ["gap-1", "gap-2", "noaction-1"]


def test_xml_failed_slot_has_kaltura_error_shape(kaltura_collector):
    """format=2: a failed slot is <item><error><code/><message/><objectType/><args>...</args></error></item>."""
    import xml.etree.ElementTree as ET

    kc = kaltura_collector
    data = {"ks": kc.ks(), "format": 2}
    data.update(_call(1, 1, "x-1"))
    data.update(_call(2, 77, "x-2"))
    root = ET.fromstring(http("POST", kc.service_url + "/service/multirequest", data)[2])
    first, second = root.find("result")
    assert first.tag == second.tag == "item" and len(first) == 0
    (error,) = second
    assert error.tag == "error"
    assert [child.tag for child in error] == ["code", "message", "objectType", "args"]
    assert (error.findtext("code"), error.findtext("objectType")) == ("INVALID_ENUM_VALUE", "KalturaAPIException")
    args = [(a.findtext("objectType"), a.findtext("name"), a.findtext("value")) for a in error.find("args")]
    assert args[0] == ("KalturaApiExceptionArg", "ENUM_VAL", "77")
    assert [e["beacon_id"] for e in kc.events(session_id="mr-1")] == ["x-1"]


def test_official_client_parses_a_partial_failure(kaltura_collector):
    """KalturaClient's doMultiRequest returns a KalturaException for the failed slot and results for the others."""
    import KalturaClient as kaltura
    from KalturaClient.exceptions import KalturaException
    from KalturaClient.Plugins.Core import KalturaStatsEvent

    kc = kaltura_collector
    config = kaltura.KalturaConfiguration(kc.partner_id)
    config.serviceUrl = kc.base_url
    client = kaltura.KalturaClient(config)
    client.setKs(kc.ks("sdk@example.com"))
    client.startMultiRequest()
    for event_type in (1, 77, 3):
        client.stats.collect(KalturaStatsEvent(partnerId=kc.partner_id, entryId="0_sdk", eventType=event_type,
                                               sessionId="sdk-mr", eventTimestamp=1700000000))
    results = client.doMultiRequest()
    assert len(results) == 3 and not isinstance(results[0], KalturaException)
    assert isinstance(results[1], KalturaException) and results[1].code == "INVALID_ENUM_VALUE"
    assert not isinstance(results[2], KalturaException)
    assert [e["event_type"] for e in kc.events(session_id="sdk-mr")] == [1, 3]
