import os
import subprocess
import sys

from kaltura_web.cli import main
from kaltura_web.cpython import SQLiteStore

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_cli(*args, prefix=(), program=("-m", "kaltura_web"), stdin=None):
    """Run the command line in a fresh interpreter (``prefix``: a command that wraps it)."""
    env = dict(os.environ, PYTHONPATH=ROOT)
    for name in ("KALTURA_KS", "KALTURA_PARTNER_ID", "ENTRY_ID"):
        env.pop(name, None)
    return subprocess.run([*prefix, sys.executable, *program, *args], capture_output=True, text=True,
                          timeout=120, env=env, cwd=ROOT, input=stdin)


def _send_args(collector, ks=None):
    return ["send", "--service-url", collector.service_url, "--analytics-url", collector.analytics_url,
            "--partner-id", str(collector.partner_id),
            "--ks", ks or collector.ks(user_id="server-process@example.com")]


def _send(collector, *extra, ks=None):
    return run_cli(*_send_args(collector, ks), *extra)


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
    proc = run_cli("send", "--entry-id", "e")
    assert proc.returncode == 2 and "partner-id" in proc.stderr


def _line(n, event_type=3):
    return '{"eventType": %d, "entryId": "1_a", "sessionId": "s-1", "eventTimestamp": %d}\n' % (
        event_type, 1700000000 + n)


def test_send_file_is_all_or_nothing(kaltura_collector, tmp_path, capsys):
    """A bad line anywhere in --file queues nothing, so the corrected file run again stores each line once."""
    good = [_line(n) for n in range(1, 8)]
    backfill = tmp_path / "backfill.jsonl"
    queue = tmp_path / "q.db"
    backfill.write_text("".join(good[:5]) + '{"eventType": 3, "entryId": 7}\n' + good[6])
    code = main([*_send_args(kaltura_collector), "--file", str(backfill), "--queue", str(queue)])
    assert code == 2
    assert capsys.readouterr().err.startswith("error: line 6: entryId ")
    assert not queue.exists()  # the queue file is not even created
    assert kaltura_collector.events() == []

    backfill.write_text("".join(good))
    assert main([*_send_args(kaltura_collector), "--file", str(backfill), "--queue", str(queue)]) == 0
    stored = kaltura_collector.events(service="stats")
    assert [e["event_timestamp"] for e in stored] == [1700000000 + n for n in range(1, 8)]
    assert len({e["beacon_id"] for e in stored}) == 7
    assert SQLiteStore(queue).load("s") == []


def test_send_file_longer_than_the_queue_cap_loses_no_line(kaltura_collector, tmp_path):
    """A --file of more lines than the SDK's default queue cap (1000) delivers every line."""
    backfill = tmp_path / "long.jsonl"
    backfill.write_text("".join(_line(n) for n in range(1005)))
    assert main([*_send_args(kaltura_collector), "--file", str(backfill)]) == 0
    stored = kaltura_collector.events(service="stats")
    assert len(stored) == 1005
    assert stored[0]["event_timestamp"] == 1700000000


def test_send_protocol_kava_reports_one_playback_as_player_v7_would(kaltura_collector):
    """`send --protocol kava --duration 25` stores one KAVA playback: ids in order, eventIndex 1..n, a VIEW every 10 s, the user on every event."""
    proc = _send(kaltura_collector, "--entry-id", "1_kava_cli", "--protocol", "kava", "--duration", "25",
                 "--user-id", "viewer@example.com")
    assert proc.returncode == 0, proc.stderr
    assert kaltura_collector.events(service="stats") == []
    events = kaltura_collector.events(service="analytics")
    # 25% at 6.25 s, VIEW at 10 s, 50% at 12.5 s, 75% at 18.75 s, VIEW at 20 s, 90% at 22.5 s
    assert [e["event_type"] for e in events] == [1, 2, 3, 99, 11, 99, 12, 13, 99, 15, 14, 33]
    assert [int(e["fields"]["eventIndex"]) for e in events] == list(range(1, 13))
    views = [float(e["fields"]["playTimeSum"]) for e in events if e["event_type"] == 99]
    assert views == [0.0, 10.0, 20.0]
    assert {e["fields"]["userId"] for e in events} == {"viewer@example.com"}
    assert len({e["session_id"] for e in events}) == 1


def test_send_protocol_both_sends_the_guide_lifecycle_and_kava(kaltura_collector):
    """`--protocol both` reports the same playback as stats.collect (1-7) and as KAVA."""
    proc = _send(kaltura_collector, "--entry-id", "1_both_cli", "--protocol", "both", "--duration", "8")
    assert proc.returncode == 0, proc.stderr
    assert [e["event_type"] for e in kaltura_collector.events(service="stats")] == [1, 2, 3, 4, 5, 6, 7]
    assert [e["event_type"] for e in kaltura_collector.events(service="analytics")][:4] == [1, 2, 3, 99]


def test_send_protocol_kava_refuses_guide_only_arguments():
    """--protocol kava without --duration, or with --events, is refused with a sentence and exit 2."""
    for extra in (("--entry-id", "1_x"), ("--entry-id", "1_x", "--duration", "5", "--events", "1,2")):
        proc = run_cli("send", "--partner-id", "1", "--ks", "k" * 40, "--protocol", "kava", *extra)
        assert proc.returncode == 2 and "--protocol kava" in proc.stderr, proc.stderr
