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


def test_multirequest_resent_batch_is_stored_once(kaltura_collector):
    """Re-sending a batch (its answer was lost) stores each beacon once."""
    kc = kaltura_collector
    data = {"ks": kc.ks(), "format": 1}
    data.update(_call(1, 1, "dup-1"))
    data.update(_call(2, 2, "dup-2"))
    for _ in range(2):
        assert http("POST", kc.service_url + "/service/multirequest", data)[0] == 200
    assert [e["beacon_id"] for e in kc.events(session_id="mr-1")] == ["dup-1", "dup-2"]


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
