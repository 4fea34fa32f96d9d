"""The dashboard page at / and its endpoints: /dev/stream (Server-Sent Events), /dev/summary, /dev/catalog."""

import json
import re
import threading
import time
import types
import urllib.request

from collector_helpers import http, stats_fields

from kaltura_web.collector.dashboard import event_stream
from kaltura_web.collector.server import CollectorServer
from kaltura_web.collector.store import Store

READ_TIMEOUT = 5.0


def open_stream(base_url, query=""):
    """Open /dev/stream with a socket timeout so no read can hang the test."""
    return urllib.request.urlopen(f"{base_url}/dev/stream{query}", timeout=READ_TIMEOUT)


def next_message(resp, deadline=READ_TIMEOUT):
    """Read one SSE message (skipping comments and the retry preamble); {'event', 'id', 'data'}."""
    stop = time.monotonic() + deadline
    message = {}
    while time.monotonic() < stop:
        line = resp.readline().decode()
        if line == "":
            raise AssertionError("stream closed")
        line = line.rstrip("\n")
        if not line:
            if "data" in message:
                return message
            message = {}
            continue
        if line.startswith(":") or line.startswith("retry:"):
            continue
        key, _, value = line.partition(": ")
        message[key] = json.loads(value) if key == "data" else value
    raise AssertionError("no SSE message before the deadline")


def send_play(kc, session_id, event_type=3, **extra):
    fields = stats_fields(kc, session_id, event_type, ks=kc.ks("viewer@example.com", app_id="dash"), **extra)
    status, _, body = http("POST", kc.service_url + "/service/stats/action/collect", fields)
    assert status == 200 and body == b"null"


def test_root_serves_dashboard(kaltura_collector):
    """/ is the dashboard page, served locally: no CDN, no external fonts, links to the demo pages."""
    status, headers, body = http("GET", kaltura_collector.base_url + "/")
    page = body.decode()
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "Quartile funnel" in page and 'id="event-stream"' in page
    assert "/web/portal.html" in page and "/web/player.html" in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    for name, mime in (("dashboard.js", "text/javascript"), ("dashboard.css", "text/css")):
        status, headers, asset = http("GET", f"{kaltura_collector.base_url}/dashboard/{name}")
        assert status == 200 and headers["Content-Type"].startswith(mime)
        asset = asset.replace(b'"http://www.w3.org/2000/svg"', b"")  # a namespace name, not a fetch
        assert b"http://" not in asset and b"https://" not in asset
    assert http("GET", kaltura_collector.base_url + "/dashboard/__init__.py")[0] == 404


def test_stream_delivers_new_event(kaltura_collector):
    """An event stored after the stream opened arrives as an SSE message with its seq as id."""
    kc = kaltura_collector
    with open_stream(kc.base_url) as resp:
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        send_play(kc, "sse-1", currentPoint=3)
        message = next_message(resp)
    ev = message["data"]
    assert (ev["session_id"], ev["event_type"], ev["app_id"], ev["fields"]["currentPoint"]) == \
        ("sse-1", 3, "dash", "3")
    assert message["id"] == str(ev["seq"]) and "event" not in message


def test_stream_backlog_and_resume(kaltura_collector):
    """Without since the stream replays the backlog; since= and Last-Event-ID resume after a seq."""
    kc = kaltura_collector
    for event_type in (1, 2, 3):
        send_play(kc, "sse-2", event_type)
    seqs = [e["seq"] for e in kc.events(session_id="sse-2")]
    with open_stream(kc.base_url, "?backlog=2") as resp:
        assert [int(next_message(resp)["id"]) for _ in range(2)] == seqs[1:]
    with open_stream(kc.base_url, f"?since={seqs[0]}") as resp:
        assert [next_message(resp)["data"]["event_type"] for _ in range(2)] == [2, 3]
    req = urllib.request.Request(kc.base_url + "/dev/stream", headers={"Last-Event-ID": str(seqs[1])})
    with urllib.request.urlopen(req, timeout=READ_TIMEOUT) as resp:
        assert next_message(resp)["data"]["seq"] == seqs[2]


def test_stream_announces_reset(kaltura_collector):
    """POST /dev/reset sends an SSE 'reset' event so the page can clear itself."""
    kc = kaltura_collector
    with open_stream(kc.base_url) as resp:
        assert http("POST", kc.base_url + "/dev/reset")[0] == 200
        assert next_message(resp)["event"] == "reset"


def test_stream_never_blocks_other_requests_or_stop(tmp_path):
    """With streams open, other requests are answered and stop() returns promptly, ending the streams."""
    server = CollectorServer(db=tmp_path / "events.db").start()
    streams = [open_stream(server.base_url) for _ in range(3)]
    try:
        for resp in streams:
            assert resp.readline() == b"retry: 2000\n"
        status, _, body = http("GET", server.base_url + "/dev/info")
        assert status == 200 and json.loads(body)["events"] == 0
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 2.0
        for resp in streams:
            assert resp.read() in (b"", b"\n")
    finally:
        server.stop()
        for resp in streams:
            resp.close()


def test_event_stream_heartbeat_and_shutdown():
    """The stream generator sends a heartbeat comment when idle and ends when closing is set."""
    store = Store(":memory:")
    state = types.SimpleNamespace(store=store, closing=threading.Event())
    stream = event_stream(state, since=0, heartbeat=0.05)
    assert next(stream) == "retry: 2000\n\n"
    assert next(stream) == ": heartbeat\n\n"
    store.insert(service="stats", fields={}, event_type=3, session_id="s")
    assert next(stream).startswith("id: 1\ndata: {")
    threading.Timer(0.05, lambda: (state.closing.set(), store.wake_all())).start()
    assert list(stream) in ([], [": heartbeat\n\n"])


def test_summary_and_catalog(kaltura_collector):
    """/dev/summary gives the funnel figures for the chosen app/entry; /dev/catalog names the types."""
    kc = kaltura_collector
    for event_type, point in ((1, 0), (2, 0), (3, 0), (4, 25), (5, 50)):
        send_play(kc, "sum-1", event_type, currentPoint=point, duration=100)
    send_play(kc, "sum-2", 3, entry_id="0_other")
    kc.wait_for_events(6)
    _, _, body = http("GET", kc.base_url + "/dev/summary?app=dash&entry=0_entry")
    totals = json.loads(body)["totals"]
    assert (totals["loads"], totals["plays"], totals["reach"], totals["avgCompletion"]) == \
        (1, 1, {"25": 1, "50": 1, "75": 0, "100": 0}, 0.5)
    _, _, body = http("GET", kc.base_url + "/dev/summary?app=elsewhere")
    assert json.loads(body)["totals"]["events"] == 0
    assert http("GET", kc.base_url + "/dev/summary?from=soon")[0] == 400
    catalog = json.loads(http("GET", kc.base_url + "/dev/catalog")[2])
    assert catalog["stats"]["3"] == "PLAY" and catalog["analytics"]["10003"] == "PageLoad"
