"""Fault injection: each mode over HTTP, the /dev/faults API, and determinism."""

import json
import subprocess
import time
import urllib.error
import urllib.request
import http.client as httpclient

import pytest

from kaltura_web.collector.faults import FaultPlan, FaultSpecError

from collector_helpers import http, post_json, require_curl, stats_fields


def send(kc, collect_url, session="f", event_type=1, beacon=None):
    extra = {"beaconId": beacon} if beacon else {}
    return http("POST", collect_url, stats_fields(kc, session, event_type, **extra))


def test_status_fault_then_recovery(kaltura_collector, collect_url):
    """fail_next(2, 503): two 503 answers, then success; counters record them."""
    kc = kaltura_collector
    kc.faults.fail_next(2, status=503)
    assert [send(kc, collect_url)[0] for _ in range(3)] == [503, 503, 200]
    assert len(kc.events()) == 1 and kc.faults.applied["status"] == 2


def test_fail_all_and_clear_over_http(kaltura_collector, collect_url, track_url):
    """POST /dev/faults without count fails every request until DELETE /dev/faults."""
    kc = kaltura_collector
    status, _, body = post_json(kc.base_url + "/dev/faults", {"mode": "status", "status": 500})
    assert status == 200 and json.loads(body)["rules"][0]["count"] is None
    assert send(kc, collect_url)[0] == 500
    assert http("POST", track_url, {"eventType": "10003", "partnerId": "100"})[0] == 500
    # /dev and static paths are never faulted
    assert http("GET", kc.base_url + "/dev/events")[0] == 200
    assert http("DELETE", kc.base_url + "/dev/faults")[0] == 200
    assert send(kc, collect_url)[0] == 200
    applied = json.loads(http("GET", kc.base_url + "/dev/faults")[2])["applied"]
    assert applied["status"] == 2 and applied["total"] == 2


def test_bad_fault_spec_is_400(kaltura_collector):
    """An invalid fault spec answers 400 and changes nothing."""
    kc = kaltura_collector
    for spec in ({"mode": "explode"}, {"mode": "status", "count": 0}, {"mode": "fraction", "fraction": 2}, "x"):
        assert post_json(kc.base_url + "/dev/faults", spec)[0] == 400
    assert kc.faults.active == []


@pytest.mark.parametrize("when", ["before", "after"])
def test_drop_is_a_connection_error(kaltura_collector, collect_url, when):
    """A dropped request gives the client a connection error, never an HTTP answer."""
    kc = kaltura_collector
    kc.faults.drop_next(1, when=when)
    with pytest.raises((urllib.error.URLError, httpclient.HTTPException, ConnectionError)):
        send(kc, collect_url, beacon="D1")
    # 'after' stored the event before dropping: the retry is stored again, as a duplicate
    assert len(kc.events()) == (1 if when == "after" else 0)
    assert send(kc, collect_url, beacon="D1")[2] == b"null"
    assert len(kc.events()) == 1
    assert kc.duplicates() == (["D1"] if when == "after" else [])
    assert kc.faults.applied[f"drop_{when}_body"] == 1


def test_drop_seen_by_curl(kaltura_collector, collect_url):
    """curl sees 'Empty reply from server' (exit 52) or a reset, not an HTTP status."""
    curl = require_curl()
    kc = kaltura_collector
    kc.faults.drop_next(1, when="before")
    proc = subprocess.run([curl, "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", collect_url,
                           "-d", "format=1"], capture_output=True, text=True, timeout=10)
    assert proc.returncode in (52, 56) and proc.stdout == "000"


def test_delay(kaltura_collector, collect_url):
    """delay(150, count=1) slows exactly one answer by at least 150 ms."""
    kc = kaltura_collector
    kc.faults.delay(150, count=1)
    t0 = time.monotonic()
    assert send(kc, collect_url)[2] == b"null"
    assert time.monotonic() - t0 >= 0.15
    t0 = time.monotonic()
    send(kc, collect_url)
    assert time.monotonic() - t0 < 0.15


def test_invalid_ks_fault(kaltura_collector, collect_url, track_url):
    """invalid_ks: stats.collect answers INVALID_KS (HTTP 200), trackEvent answers 401."""
    kc = kaltura_collector
    kc.faults.invalid_ks_next(2)
    status, _, body = http("POST", collect_url, stats_fields(kc, "k", 1, ks=kc.ks()))
    assert status == 200 and json.loads(body)["code"] == "INVALID_KS"
    assert http("POST", track_url, {"eventType": "10003", "partnerId": "100", "ks": kc.ks()})[0] == 401
    assert http("POST", track_url, {"eventType": "10003", "partnerId": "100", "ks": kc.ks()})[0] == 200
    assert len(kc.events()) == 1


def test_fraction_is_seeded_and_deterministic(kaltura_collector, collect_url):
    """fraction(0.3, seed=7) fails the same requests on every run."""
    kc = kaltura_collector
    runs = []
    for _ in range(2):
        kc.faults.clear().fraction(0.3, seed=7, status=502)
        runs.append([send(kc, collect_url)[0] for _ in range(20)])
    assert runs[0] == runs[1] and 502 in runs[0] and 200 in runs[0]
    assert set(runs[0]) == {200, 502}


def test_fault_plan_is_pure_and_ordered():
    """FaultPlan: delays combine with the first terminal rule; counts run out."""
    plan = FaultPlan()
    plan.add({"mode": "delay", "ms": 10, "count": 1})
    plan.add({"mode": "status", "status": 429, "count": 1})
    plan.add({"mode": "invalid_ks", "count": 1})
    d = plan.decide()
    assert (d.delay_ms, d.action, d.status) == (10, "status", 429)
    assert plan.decide().action == "invalid_ks"
    assert plan.decide().is_noop
    with pytest.raises(FaultSpecError):
        plan.add({"mode": "delay", "ms": -1})


def test_cli_flags_become_fault_specs():
    """serve's fault flags translate to the same specs as POST /dev/faults."""
    import argparse

    from kaltura_web.collector import commands

    p = argparse.ArgumentParser()
    commands.register(p.add_subparsers(dest="cmd"))
    a = p.parse_args(["serve", "--fail-next", "3", "--fail-status", "503", "--drop-next", "1",
                      "--drop-when", "before", "--delay-ms", "20", "--fault-fraction", "0.5", "--fault-seed", "4"])
    specs = commands.faults_from_args(a)
    assert {"mode": "status", "status": 503, "count": 3} in specs
    assert {"mode": "drop_before_body", "count": 1} in specs
    assert {"mode": "delay", "ms": 20} in specs
    assert {"mode": "fraction", "fraction": 0.5, "seed": 4, "status": 503} in specs
    plan = FaultPlan()
    for s in specs:
        plan.add(s)
