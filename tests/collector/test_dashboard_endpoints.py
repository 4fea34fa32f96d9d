"""The dashboard page at / and its endpoints: /dev/stream (Server-Sent Events), /dev/summary, /dev/catalog."""

import json
import re
import threading
import time
import types
import urllib.parse
import urllib.request

from collector_helpers import http, post_json, stats_fields

from kaltura_web.collector.dashboard import event_stream
from kaltura_web.collector.playback import BOTH_MODE_SLACK
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


# -- protocols and VIEW timelines (/dev/playbacks) ---------------------------------------------

T = 1700000000


def send_guide(kc, session_id, event_type, at, user="viewer@example.com", entry_id="0_entry"):
    """One stats.collect event (the guide protocol) ``at`` seconds after T."""
    fields = stats_fields(kc, session_id, event_type, entry_id=entry_id, userId=user, eventTimestamp=T + at)
    assert http("POST", kc.service_url + "/service/stats/action/collect", fields)[2] == b"null"


def send_kava(kc, session_id, event_type, index, at, user="viewer@example.com", entry_id="0_entry", **body):
    """One KAVA event as KAVA mode sends it: ids in the query string, the rest as a JSON body."""
    query = urllib.parse.urlencode({"service": "analytics", "action": "trackEvent", "eventType": event_type,
                                    "partnerId": kc.partner_id, "entryId": entry_id, "sessionId": session_id})
    payload = {"eventIndex": index, "position": 0.0, "userId": user, "eventTimestamp": T + at, **body}
    status, _, answer = post_json(f"{kc.analytics_url}/api_v3/index.php?{query}", payload)
    assert status == 200, answer


def playbacks(kc):
    status, _, body = http("GET", kc.base_url + "/dev/playbacks")
    assert status == 200
    answer = json.loads(body)
    assert answer["count"] == len(answer["sessions"])
    return {s["session_id"]: s for s in answer["sessions"]}


def test_playbacks_name_each_sessions_protocol(kaltura_collector):
    """/dev/playbacks says guide for stats.collect sessions, kava for KAVA sessions; application events say nothing."""
    kc = kaltura_collector
    for event_type in (1, 2, 3):
        send_guide(kc, "guide-1", event_type, event_type)
    send_kava(kc, "pg:kava-1", 1, 1, 100, entry_id="0_other")
    send_kava(kc, "pg:kava-1", 3, 2, 101, entry_id="0_other")
    http("POST", kc.analytics_url + "/api_v3/index.php?service=analytics&action=trackEvent",
         {"eventType": 10003, "partnerId": kc.partner_id, "sessionId": "clicks-only", "pageType": "lobby"})
    sessions = playbacks(kc)
    assert set(sessions) == {"guide-1", "pg:kava-1"}
    guide, kava = sessions["guide-1"], sessions["pg:kava-1"]
    assert (guide["protocol"], guide["sent"], guide["events"], guide["views"]) == ("guide", ["guide"], 3, [])
    assert (kava["protocol"], kava["sent"], kava["entry_id"], kava["user_id"]) == \
        ("kava", ["kava"], "0_other", "viewer@example.com")
    assert (kava["start"], kava["end"], kava["paired_with"]) == (T + 100, T + 101, [])


def test_playbacks_pair_guide_and_kava_of_one_viewing(kaltura_collector):
    """A guide and a KAVA session of one entry and user close in time (the reports' rule) are 'both', naming each other."""
    kc = kaltura_collector
    for at, event_type in ((0, 1), (1, 2), (2, 3), (30, 4)):
        send_guide(kc, "g-both", event_type, at)
    for index, (event_type, at) in enumerate(((1, 1), (3, 2), (99, 2)), start=1):
        send_kava(kc, "pg:k-both", event_type, index, at)
    send_kava(kc, "pg:other-user", 3, 1, 2, user="someone@example.com")  # same time, another viewer
    send_kava(kc, "pg:near", 3, 1, 30 + BOTH_MODE_SLACK - 0.5)  # the same viewer, just within the slack
    send_kava(kc, "pg:later", 3, 1, 30 + BOTH_MODE_SLACK + 0.5)  # just past it: another viewing
    send_guide(kc, "one-id", 3, 5000, entry_id="0_same")
    send_kava(kc, "one-id", 3, 1, 5000, entry_id="0_same")  # both protocols under one session id
    sessions = playbacks(kc)
    assert (sessions["g-both"]["protocol"], sessions["g-both"]["paired_with"]) == ("both", ["pg:k-both", "pg:near"])
    assert (sessions["pg:k-both"]["protocol"], sessions["pg:k-both"]["paired_with"]) == ("both", ["g-both"])
    assert (sessions["pg:other-user"]["protocol"], sessions["pg:later"]["protocol"]) == ("kava", "kava")
    assert (sessions["one-id"]["protocol"], sessions["one-id"]["sent"]) == ("both", ["guide", "kava"])


def test_playbacks_give_the_view_timeline(kaltura_collector):
    """Each KAVA VIEW is listed with its offset from the session's start, playTimeSum, position and eventIndex."""
    kc = kaltura_collector
    send_kava(kc, "pg:views", 1, 1, 0)
    send_kava(kc, "pg:views", 3, 2, 1.5)
    for index, (at, played) in enumerate(((1.6, 0.1), (11.6, 10.1), (21.7, 20.2)), start=3):
        send_kava(kc, "pg:views", 99, index, at, playTimeSum=played, position=played)
    views = playbacks(kc)["pg:views"]["views"]
    assert [(v["offset"], v["playTimeSum"], v["position"], v["eventIndex"]) for v in views] == \
        [(1.6, 0.1, 0.1, 3), (11.6, 10.1, 10.1, 4), (21.7, 20.2, 20.2, 5)]
    assert [v["seq"] for v in views] == [e["seq"] for e in kc.events(session_id="pg:views", event_type=99)]


def test_playbacks_are_development_only(kaltura_collector):
    """/dev/playbacks, like every /dev route, refuses another origin."""
    status, _, _ = http("GET", kaltura_collector.base_url + "/dev/playbacks", headers={"Origin": "http://elsewhere"})
    assert status == 403


def test_catalog_and_page_know_kava(kaltura_collector):
    """/dev/catalog names the KAVA ids; the page has a protocol column, a warnings count and asks /dev/playbacks."""
    kc = kaltura_collector
    catalog = json.loads(http("GET", kc.base_url + "/dev/catalog")[2])
    assert (catalog["kava"]["3"], catalog["kava"]["99"], catalog["kava"]["34"]) == ("PLAY", "VIEW", "REPLAY")
    page = http("GET", kc.base_url + "/")[2].decode()
    assert "<th>protocol</th>" in page and 'id="findings-count"' in page
    script = http("GET", kc.base_url + "/dashboard/dashboard.js")[2].decode()
    assert 'getJSON("/dev/playbacks")' in script and "verify.warnings" in script


def test_playbacks_and_verify_stay_json_whatever_is_stored(kaltura_collector):
    """KAVA rows holding inf/NaN written straight into the store: /dev/playbacks and /dev/verify stay strict JSON."""
    kc = kaltura_collector
    inf, nan = float("inf"), float("nan")
    for n, (index, played, ts) in enumerate(((1, inf, inf), (nan, nan, nan), (inf, 1e308, -inf), (2, 5, 1.0))):
        kc.server.store.insert(service="analytics", partner_id=kc.partner_id, entry_id="0_odd", event_type=99,
                               session_id="pg:odd", event_timestamp=ts, user_id="u",
                               fields={"eventType": 99, "eventIndex": index, "playTimeSum": played,
                                       "position": played, "sessionId": "pg:odd", "entryId": "0_odd",
                                       "partnerId": kc.partner_id})

    def refuse(token):
        raise ValueError(f"{token} is not JSON")

    for path in ("/dev/playbacks", "/dev/verify"):
        status, _, body = http("GET", kc.base_url + path)
        assert status == 200, path
        json.loads(body, parse_constant=refuse)
    (odd,) = json.loads(http("GET", kc.base_url + "/dev/playbacks")[2])["sessions"]
    assert [v["playTimeSum"] for v in odd["views"]] == [None, None, 1e308, 5]
