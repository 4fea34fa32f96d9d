"""Development routes are safe by default: same-origin only, short-lived user KS, loopback only."""

import json
import subprocess
import sys
import time

import pytest

from kaltura_web.collector.ks import parse_ks
from kaltura_web.collector.server import CollectorServer

from collector_helpers import http, stats_fields

OTHER = "http://localhost:9999"
READ_ROUTES = ("/dev/ks", "/dev/events", "/dev/info", "/dev/faults", "/dev/sessions", "/dev/verify",
               "/dev/summary", "/dev/catalog")


def store_one(kc, session_id="sec"):
    status, _, body = http("POST", kc.service_url + "/service/stats/action/collect", stats_fields(kc, session_id, 1))
    assert body == b"null"


@pytest.mark.parametrize("origin", [OTHER, "null", "http://127.0.0.1:1"])
def test_dev_routes_refuse_other_origins_without_cors(kaltura_collector, origin):
    """A request from another origin (another port, a sandboxed page: null) gets 403 and no CORS header."""
    for path in READ_ROUTES:
        status, headers, _ = http("GET", kaltura_collector.base_url + path, headers={"Origin": origin})
        assert status == 403, path
        assert "Access-Control-Allow-Origin" not in headers, path


def test_same_origin_requests_work_without_cors(kaltura_collector):
    """The collector's own pages (Origin = its own origin, or Sec-Fetch-Site same-origin/none) are served."""
    kc = kaltura_collector
    for headers in ({"Origin": kc.base_url}, {"Sec-Fetch-Site": "same-origin"}, {"Sec-Fetch-Site": "none"}, {}):
        for path in READ_ROUTES:
            status, answer_headers, _ = http("GET", kc.base_url + path, headers=headers)
            assert status == 200, (path, headers)
            assert "Access-Control-Allow-Origin" not in answer_headers


def test_state_changing_dev_routes_refuse_cross_site(kaltura_collector):
    """POST /dev/reset and /dev/faults from another origin or site are refused and change nothing."""
    kc = kaltura_collector
    store_one(kc)
    for headers in ({"Origin": OTHER}, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"},
                    {"Sec-Fetch-Site": "same-site"}):
        assert http("POST", kc.base_url + "/dev/reset", b"", headers)[0] == 403, headers
        spec = json.dumps({"mode": "status", "status": 500}).encode()
        assert http("POST", kc.base_url + "/dev/faults", spec,
                    dict(headers, **{"Content-Type": "application/json"}))[0] == 403
        assert http("DELETE", kc.base_url + "/dev/faults", None, headers)[0] == 403
    assert len(kc.events()) == 1 and kc.faults.active == []
    assert http("POST", kc.base_url + "/dev/reset", b"", {"Origin": kc.base_url})[0] == 200
    assert kc.events() == []


def test_preflight_to_dev_routes_is_not_granted(kaltura_collector):
    """An OPTIONS preflight from another origin to /dev/reset gets no Access-Control-Allow-Origin."""
    status, headers, _ = http("OPTIONS", kaltura_collector.base_url + "/dev/reset", headers={
        "Origin": OTHER, "Access-Control-Request-Method": "POST"})
    assert status == 403 and "Access-Control-Allow-Origin" not in headers


def test_dev_routes_refuse_a_foreign_host_header(kaltura_collector):
    """A Host that is not a loopback name (a DNS-rebound page) is refused on /dev/*, even same-origin."""
    kc = kaltura_collector
    for host in ("attacker.example:%d" % kc.server.port, "192.168.1.5"):
        status, _, _ = http("GET", kc.base_url + "/dev/ks", headers={"Host": host, "Origin": "http://" + host})
        assert status == 403, host
    assert http("GET", kc.base_url + "/dev/ks", headers={"Host": "localhost:%d" % kc.server.port})[0] == 200


def test_collection_api_keeps_cors_for_other_origins(kaltura_collector, collect_url):
    """stats.collect and trackEvent still answer pages of other origins (beacons), echoing the Origin."""
    kc = kaltura_collector
    _, headers, body = http("POST", collect_url, stats_fields(kc, "cors", 1), {"Origin": OTHER})
    assert body == b"null" and headers["Access-Control-Allow-Origin"] == OTHER
    url = kc.analytics_url + "/api_v3/index.php?service=analytics&action=trackEvent"
    status, headers, _ = http("POST", url, {"eventType": "10003", "partnerId": "100"}, {"Origin": OTHER})
    assert status == 200 and headers["Access-Control-Allow-Origin"] == OTHER


def test_dev_ks_is_a_short_lived_user_ks(kaltura_collector):
    """/dev/ks: a USER KS for 1 hour by default, never more than 24 hours, never an admin KS."""
    kc = kaltura_collector
    secrets = kc.server.config.secrets_by_partner
    now = time.time()
    answer = json.loads(http("GET", kc.base_url + "/dev/ks?userId=a&type=2")[2])
    info = parse_ks(answer["ks"], secrets)
    assert info.ks_type == 0 and now + 3590 <= info.expiry <= now + 3610 and answer["expiry"] == info.expiry
    info = parse_ks(json.loads(http("GET", kc.base_url + "/dev/ks?expiry=315360000")[2])["ks"], secrets)
    assert info.expiry <= time.time() + 86400 + 1
    for bad in ("0", "-5", "abc", "1.5", "9.9e999"):
        assert http("GET", kc.base_url + "/dev/ks?expiry=" + bad)[0] == 400, bad


def test_no_dev_routes_turns_them_off(tmp_path):
    """dev_routes=False (--no-dev-routes): /dev/* and the dashboard answer 404; collection still works."""
    with CollectorServer(db=tmp_path / "off.db", dev_routes=False) as srv:
        for path in READ_ROUTES + ("/", "/dashboard/dashboard.js", "/dev/stream"):
            assert http("GET", srv.base_url + path)[0] == 404, path
        assert http("POST", srv.base_url + "/dev/reset", b"")[0] == 404
        fields = {"format": "1", "event[partnerId]": "100", "event[entryId]": "e", "event[eventType]": "1",
                  "event[sessionId]": "off", "event[eventTimestamp]": "1"}
        assert http("POST", srv.service_url + "/service/stats/action/collect", fields)[2] == b"null"
        assert srv.store.count() == 1


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.5", "example.com"])
def test_non_loopback_host_with_dev_routes_is_refused(host):
    """CollectorServer refuses a non-loopback host while dev routes are on, unless told explicitly."""
    with pytest.raises(ValueError, match="--no-dev-routes"):
        CollectorServer(host=host)
    CollectorServer(host=host, dev_routes=False)
    CollectorServer(host=host, allow_remote_dev=True)


def test_loopback_hosts_are_accepted():
    """127.0.0.1, 127.1.2.3, ::1 and localhost need no flag."""
    for host in ("127.0.0.1", "127.1.2.3", "::1", "localhost"):
        CollectorServer(host=host)


def test_serve_refuses_remote_dev_in_one_line(tmp_path):
    """`serve --host 0.0.0.0` exits 2 at once with one error line naming the flags, no traceback."""
    proc = subprocess.run([sys.executable, "-m", "kaltura_web.collector", "serve", "--host", "0.0.0.0",
                           "--port", "0", "--db", str(tmp_path / "x.db")],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "--allow-remote-dev" in lines[0]
    assert not (tmp_path / "x.db").exists()


@pytest.mark.parametrize("flags, words", [(["--read-timeout", "nan"], "read_timeout"),
                                          (["--read-timeout", "0"], "read_timeout"),
                                          (["--body-limit", "0"], "body_limit")])
def test_serve_rejects_bad_limits(tmp_path, flags, words):
    """`serve` with a non-positive or non-finite limit exits 2 with one error line."""
    proc = subprocess.run([sys.executable, "-m", "kaltura_web.collector", "serve", "--port", "0",
                           "--db", str(tmp_path / "x.db"), *flags], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2 and words in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
