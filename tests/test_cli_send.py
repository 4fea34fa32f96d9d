import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _send(collector, *extra, ks=None):
    env = dict(os.environ, PYTHONPATH=ROOT)
    env.pop("KALTURA_KS", None)
    cmd = [sys.executable, "-m", "kaltura_web", "send", "--service-url", collector.service_url,
           "--analytics-url", collector.analytics_url, "--partner-id", str(collector.partner_id),
           "--ks", ks or collector.ks(user_id="server-process@example.com"), *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)


def test_send_lifecycle_through_500s_and_a_dropped_connection(kaltura_collector):
    """`kaltura-web send` delivers guide 12.3's lifecycle through two 500s and a connection dropped after the body: all in order, each stored once."""
    kaltura_collector.faults.fail_next(2, status=500)
    kaltura_collector.faults.drop_next(1, when="after")
    ks = kaltura_collector.ks(user_id="server-process@example.com")
    proc = _send(kaltura_collector, "--entry-id", "1_server", "--referrer", "server://batch-process", ks=ks)
    assert proc.returncode == 0, proc.stderr
    events = kaltura_collector.events(service="stats")
    assert [e["event_type"] for e in events] == [1, 2, 3, 4, 5, 6, 7]
    assert len({e["session_id"] for e in events}) == 1
    assert len({e["beacon_id"] for e in events}) == 7
    assert {e["user_id"] for e in events} == {"server-process@example.com"}
    assert events[0]["fields"]["referrer"] == "server://batch-process"
    assert kaltura_collector.faults.applied["total"] == 3
    assert ks not in proc.stdout + proc.stderr  # the KS is only ever printed masked
    assert kaltura_collector.verify() == []


def test_send_backfills_a_json_lines_file(kaltura_collector, tmp_path):
    """A JSON-lines file back-fills stats and trackEvent events, keeping their timestamps."""
    lines = tmp_path / "backfill.jsonl"
    lines.write_text(
        '{"eventType": 1, "entryId": "1_a", "sessionId": "kiosk-1", "eventTimestamp": 1700000000}\n'
        '{"eventType": 2, "entryId": "1_a", "sessionId": "kiosk-1", "eventTimestamp": 1700000001}\n'
        '{"eventType": 3, "entryId": "1_a", "sessionId": "kiosk-1", "eventTimestamp": 1700000002, "currentPoint": 0, "duration": 30}\n'
        '\n'
        '{"eventType": 10003, "entryId": "1_a", "kalturaApplication": "kiosk", "pageType": "lobby"}\n')
    proc = _send(kaltura_collector, "--file", str(lines), "--progress")
    assert proc.returncode == 0, proc.stderr
    stats = kaltura_collector.events(service="stats")
    assert [(e["event_type"], e["event_timestamp"]) for e in stats] == [
        (1, 1700000000), (2, 1700000001), (3, 1700000002)]
    assert "4/4 delivered" in proc.stderr
    (page,) = kaltura_collector.events(service="analytics")
    assert page["event_type"] == 10003 and page["fields"]["pageType"] == "lobby"


def test_send_fails_loudly_on_a_rejected_ks(kaltura_collector):
    """A KS the server rejects ends with a non-zero exit and a clear message, not a hang."""
    proc = _send(kaltura_collector, "--entry-id", "1_x", "--timeout", "5", ks="djJ8bm90LWEta3M=")
    assert proc.returncode == 1
    assert "not delivered" in proc.stderr and "paused_auth" in proc.stderr
    assert kaltura_collector.events() == []


def test_send_rejects_missing_arguments():
    """Missing required options give usage errors (exit 2), not tracebacks."""
    env = dict(os.environ, PYTHONPATH=ROOT)
    env.pop("KALTURA_KS", None)
    env.pop("KALTURA_PARTNER_ID", None)
    proc = subprocess.run([sys.executable, "-m", "kaltura_web", "send", "--entry-id", "e"],
                          capture_output=True, text=True, env=env, cwd=ROOT)
    assert proc.returncode == 2 and "partner-id" in proc.stderr
