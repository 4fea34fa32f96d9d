"""The sender core and the RetryPolicy on a fake clock with scripted transports:
Retry-After, the KS episode, out-of-band acknowledgements, whole-batch
failures, transport errors, and the unload flush's requests."""

import calendar
import http.server
import socket
import threading
import urllib.parse

import pytest

from kaltura_web import MemoryStore
from kaltura_web.core import ports
from kaltura_web.core.ports import Response, TransportError
from kaltura_web.core.retry import RetryPolicy, http_date
from kaltura_web.core.sender import KEEPALIVE_BUDGET
from kaltura_web.cpython.transport import UrllibTransport
from tests.fakes import (INVALID_KS, FakeClock, ScriptedTransport, calls, make_tracker, retry_round, sequence,
                         sync_sender)



# -- RetryPolicy ---------------------------------------------------------------

def test_policy_schedule_is_backoff_then_capped_stalls():
    """The default policy waits 1, 2, 4 s within a round, then 8, 16, 32 and 60 s forever."""
    policy = RetryPolicy()
    waits = [policy.schedule(n, 0) for n in (1, 2, 3)]
    stalls = [policy.schedule(4, s) for s in range(6)]
    assert waits == [(False, 1.0), (False, 2.0), (False, 4.0)]
    assert stalls == [(True, 8.0), (True, 16.0), (True, 32.0), (True, 60.0), (True, 60.0), (True, 60.0)]


def test_policy_retry_after_lengthens_never_shortens():
    """A server's wait longer than the backoff replaces it; a shorter one changes nothing."""
    policy = RetryPolicy()
    assert policy.schedule(1, 0, retry_after=30.0) == (False, 30.0)
    assert policy.schedule(3, 0, retry_after=0.5) == (False, 4.0)


@pytest.mark.parametrize("kwargs", [{"backoff": ()}, {"backoff": (1.0, -2.0)}, {"stalled": (float("nan"),)},
                                    {"stalled": (True,)}, {"max_retry_after": -1}])
def test_policy_rejects_unusable_delays(kwargs):
    """Empty, negative, NaN or boolean delays are a ValueError at construction."""
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)


@pytest.mark.parametrize("status, value, expected", [
    (429, "120", 120.0),
    (503, " 7 ", 7.0),
    (503, "0", 0.0),
    (429, "999999", 3600.0),  # capped at an hour
    (500, "120", None),  # only 429 and 503 are honoured
    (429, "-5", None),
    (429, "1.5", None),
    (429, "soon", None),
])
def test_retry_after_in_seconds(status, value, expected):
    """Retry-After in whole seconds is read on 429/503 only, capped; anything else is ignored."""
    assert RetryPolicy().retry_after(status, {"retry-after": value}, 1000.0) == expected


@pytest.mark.parametrize("text", [
    "Wed, 21 Oct 2015 07:28:00 GMT",  # IMF-fixdate
    "Wednesday, 21-Oct-15 07:28:00 GMT",  # RFC 850
    "Wed Oct 21 07:28:00 2015",  # asctime
])
def test_retry_after_as_an_http_date(text):
    """An HTTP date in any of its three forms gives the seconds from now until then."""
    when = calendar.timegm((2015, 10, 21, 7, 28, 0))
    assert RetryPolicy().retry_after(503, {"retry-after": text}, when - 45.0) == 45.0
    assert RetryPolicy().retry_after(503, {"retry-after": text}, when + 10.0) == 0.0  # already past


@pytest.mark.parametrize("date", [(1970, 1, 1, 0, 0, 0), (2000, 2, 29, 23, 59, 59), (2024, 3, 1, 0, 0, 1),
                                  (2100, 12, 31, 12, 0, 0), (1999, 12, 31, 23, 59, 60)])
def test_http_date_matches_the_calendar(date):
    """The core's own date arithmetic agrees with the standard library across leap years and centuries."""
    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    text = "Mon, %02d %s %04d %02d:%02d:%02d GMT" % (date[2], months[date[1] - 1], date[0], date[3], date[4],
                                                     date[5])
    assert http_date(text) == calendar.timegm(date)


@pytest.mark.parametrize("text", ["", "21 Oct 2015", "Wed, 32 Oct 2015 07:28:00 GMT", "Wed, 21 Foo 2015 07:28:00 GMT",
                                  "Wed, 21 Oct 2015 25:28:00 GMT", "Wed, 21 Oct 215 07:28:00 GMT", "12:00:00"])
def test_http_date_rejects_what_is_not_a_date(text):
    """Text that is not an HTTP date gives None (the Retry-After is then ignored)."""
    assert http_date(text) is None


# -- Retry-After through the sender -------------------------------------------

@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_seconds_delays_the_retry(status):
    """A 429 or 503 with Retry-After: 30 is retried after 30 s, not after the 1 s backoff."""
    clock = FakeClock()
    tracker = make_tracker(clock)
    transport = ScriptedTransport(sequence((status, "", {"Retry-After": "30"})))
    tracker.report(3, "e")
    sync_sender(tracker, clock, transport).pump()
    assert tracker.next_wakeup() == clock.now + 30.0
    clock.now += 29.0
    assert tracker.due_requests() == []
    clock.now += 1.0
    assert len(tracker.due_requests()) == 1


def test_retry_after_date_delays_the_retry():
    """A 503 whose Retry-After is an HTTP date two minutes ahead is retried then."""
    when = calendar.timegm((2030, 1, 2, 3, 4, 5))
    clock = FakeClock(when - 120.0)
    tracker = make_tracker(clock)
    transport = ScriptedTransport(sequence((503, "", {"retry-after": "Wed, 02 Jan 2030 03:04:05 GMT"})))
    tracker.report(3, "e")
    sync_sender(tracker, clock, transport).pump()
    assert tracker.next_wakeup() == when


def test_retry_after_holds_a_stalled_queue_against_triggers():
    """A stalled queue told to wait 120 s is not restarted earlier by a new beacon or by going online."""
    clock = FakeClock()
    tracker = make_tracker(clock)
    transport = ScriptedTransport(sequence((500, ""), (500, ""), (500, ""), (429, "", {"Retry-After": "120"})))
    sender = sync_sender(tracker, clock, transport)
    tracker.report(3, "e")
    retry_round(tracker, clock, sender)
    held_at = clock.now
    tracker.report(4, "e")
    tracker.set_online(True)
    sender.pump()
    assert len(transport.requests) == 4 and tracker.next_wakeup() == held_at + 120.0
    clock.now = held_at + 120.0
    sender.pump()
    assert tracker.pending() == 0


def test_retry_after_on_a_500_is_ignored():
    """Only 429 and 503 carry a wait the sender honours: a 500 keeps the 1 s backoff."""
    clock = FakeClock()
    tracker = make_tracker(clock)
    transport = ScriptedTransport(sequence((500, "", {"Retry-After": "300"})))
    tracker.report(3, "e")
    sync_sender(tracker, clock, transport).pump()
    assert tracker.next_wakeup() == clock.now + 1.0


# -- the KS episode -----------------------------------------------------------

def test_ks_provider_asked_again_after_an_acceptance():
    """A KS rejected after a later KS was accepted starts a new episode: the provider is asked again."""
    clock = FakeClock()
    fresh = ["ks-two", "ks-three"]
    asked = []
    tracker = make_tracker(clock, ks="ks-one", ks_provider=lambda: asked.append(1) or fresh[len(asked) - 1])
    rejected = {"ks-one"}
    transport = ScriptedTransport(lambda req: (200, INVALID_KS) if calls(req)[0]["ks"] in rejected else (200, "null"))
    sender = sync_sender(tracker, clock, transport)
    tracker.report(3, "e")
    assert sender.flush(timeout=5) and asked == [1] and tracker.ks == "ks-two"
    rejected.add("ks-two")  # the second KS expires later
    tracker.report(4, "e")
    assert sender.flush(timeout=5)
    assert asked == [1, 1] and tracker.ks == "ks-three"


def test_ks_provider_not_asked_twice_in_one_episode():
    """Two rejections with no acceptance between them ask the provider once; the step says so."""
    clock = FakeClock()
    tracker = make_tracker(clock, ks="ks-one", ks_provider=lambda: "ks-two")
    core = tracker.sender_core
    tracker.report(3, "e")
    (first,) = core.due()
    assert core.receive(first, Response(401)).ask_ks
    tracker.set_ks("ks-other")
    (second,) = core.due()
    step = core.receive(second, Response(200, None, INVALID_KS))
    assert step.outcome == "auth" and not step.ask_ks


def test_no_provider_means_no_ask_and_a_note():
    """Without a KS provider the step does not ask, and its log line says delivery waits for a new KS."""
    clock = FakeClock()
    lines = []
    tracker = make_tracker(clock)
    tracker.report(3, "e")
    sync_sender(tracker, clock, ScriptedTransport(lambda req: (401, "")), log=lines.append).pump()
    assert len(lines) == 1 and "no KS provider" in lines[0] and "auth (HTTP 401)" in lines[0]


def test_out_of_band_acknowledgement_keeps_an_auth_pause():
    """A keepalive answer accepting a record does not un-pause a queue paused for a bad KS."""
    clock = FakeClock()
    tracker = make_tracker(clock, batch_size=1)
    core = tracker.sender_core
    first = tracker.report(3, "e")
    second = tracker.report(4, "e")
    (req,) = core.due()
    core.receive(req, Response(200, None, INVALID_KS))
    (keepalive,) = [r for r in tracker.keepalive_requests() if r.beacon_id == second["i"]]
    assert core.acknowledge(keepalive, Response(200, None, "null")) == 1
    assert tracker.engine.status()["s"]["state"] == "paused_auth"
    assert core.due() == [] and [r["i"] for r in tracker.queued()] == [first["i"]]


def test_out_of_band_acknowledgement_restarts_a_waiting_queue():
    """The same acknowledgement does restart a queue that only waited out a transient failure."""
    clock = FakeClock()
    tracker = make_tracker(clock, batch_size=1)
    core = tracker.sender_core
    tracker.report(3, "e")
    second = tracker.report(4, "e")
    (req,) = core.due()
    core.receive(req, Response(500))
    (keepalive,) = [r for r in tracker.keepalive_requests() if r.beacon_id == second["i"]]
    core.acknowledge(keepalive, Response(200, None, "null"))
    assert tracker.engine.status()["s"]["state"] == "idle" and len(core.due()) == 1


# -- answers -----------------------------------------------------------------

@pytest.mark.parametrize("body", ["<html>busy</html>", "", "{\"ok\": true}"])
def test_non_json_or_non_list_200_to_a_multirequest_is_transient_for_all(body):
    """A 200 whose body is not a list of results keeps every beacon of the batch queued, to be retried."""
    clock = FakeClock()
    tracker = make_tracker(clock, batch_size=3)
    for i in range(3):
        tracker.report(3, "e%d" % i)
    core = tracker.sender_core
    (req,) = core.due()
    step = core.receive(req, Response(200, None, body))
    assert (step.outcome, step.accepted) == ("transient", 0)
    assert [r["n"] for r in tracker.queued()] == ["e0", "e1", "e2"]
    assert tracker.engine.status()["s"]["state"] == "waiting"


@pytest.mark.parametrize("kind", list(ports.ERROR_KINDS))
def test_each_transport_error_kind_is_retried_and_named(kind):
    """Every kind of TransportError keeps the beacon for a retry in 1 s and names the kind in the log line."""
    clock = FakeClock()
    lines = []
    tracker = make_tracker(clock)
    tracker.report(3, "e")
    transport = ScriptedTransport(sequence(TransportError(kind, "boom")))
    sync_sender(tracker, clock, transport, log=lines.append).pump()
    assert tracker.pending() == 1 and tracker.next_wakeup() == clock.now + 1.0
    assert lines == ["beacon %s: transient (%s: boom)" % (transport.requests[0].beacon_id[:8], kind)]


def test_the_retries_exhausted_diagnostic_names_the_transport_error():
    """When timeouts use up a round of retries, the diagnostic's reason is the timeout, not a generic one."""
    clock = FakeClock()
    tracker = make_tracker(clock)
    sender = sync_sender(tracker, clock, ScriptedTransport(lambda req: TransportError(ports.TIMEOUT, "slow")))
    tracker.report(3, "e")
    retry_round(tracker, clock, sender)
    (entry,) = [d for d in tracker.diagnostics if d["code"] == "retries-exhausted"]
    assert entry["details"]["reason"] == "timeout: slow"


def test_unknown_transport_error_kind_is_refused():
    """A TransportError must have one of the known kinds: anything else is a ValueError."""
    with pytest.raises(ValueError):
        TransportError("dns", "no such host")


class RaisingTransport(ports.Transport):
    def __init__(self, error):
        self.error = error

    def send(self, request):
        raise self.error


@pytest.mark.parametrize("error, kind", [(TransportError(ports.TIMEOUT, "slow"), "timeout"),
                                         (OSError("reset by peer"), "network")])
def test_a_raising_transport_gives_a_retry_not_a_stuck_batch(error, kind):
    """A transport that raises (a TransportError or anything else) is an answer-less failure: retried later."""
    clock = FakeClock()
    lines = []
    tracker = make_tracker(clock)
    tracker.report(3, "e")
    sync_sender(tracker, clock, RaisingTransport(error), log=lines.append).pump()
    assert tracker.engine.in_flight("s") == [] and tracker.engine.status()["s"]["state"] == "waiting"
    assert "(%s: " % kind in lines[0]


def test_a_transport_returning_a_tuple_is_a_broken_transport():
    """A transport that returns something other than a Response gets an 'invalid' failure, never a crash."""
    clock = FakeClock()
    tracker = make_tracker(clock)
    tracker.report(3, "e")
    (req,) = tracker.due_requests()
    step = tracker.sender_core.receive(req, (200, "null"))
    assert step.outcome == "transient" and "invalid: the transport gave tuple" in step.note


def test_stray_answer_changes_nothing():
    """An answer for a request that is no longer in flight is a diagnostic and settles nothing."""
    clock = FakeClock()
    tracker = make_tracker(clock)
    tracker.report(3, "e")
    (req,) = tracker.due_requests()
    tracker.sender_core.receive(req, Response(200, None, "null"))
    tracker.report(4, "e")
    step = tracker.sender_core.receive(req, Response(200, None, "null"))
    assert step.accepted == 0 and tracker.pending() == 1
    assert tracker.diagnostics[-1]["code"] == "stray-answer"


def test_response_keeps_headers_case_insensitively_and_checks_the_status():
    """Header names are kept in lower case and found in any case; a status outside 100-599 is refused."""
    answer = Response(429, {"Retry-After": "5", "X-Trace": 7}, None)
    assert answer.header("RETRY-AFTER") == "5" and answer.headers == {"retry-after": "5", "x-trace": "7"}
    assert answer.body == ""
    with pytest.raises(ValueError):
        Response(0)


def test_sent_counts_beacons_not_requests():
    """A multirequest of four accepted beacons counts four delivered."""
    clock = FakeClock()
    tracker = make_tracker(clock, batch_size=4)
    for i in range(4):
        tracker.report(3, "e%d" % i)
    sender = sync_sender(tracker, clock, ScriptedTransport())
    assert sender.flush(timeout=1) and sender.sent == 4


# -- the unload flush -----------------------------------------------------------

def test_keepalive_requests_batch_stats_first_within_the_budget():
    """Stats records go out as one ordered multirequest before trackEvent ones; excluded ids and the budget are respected."""
    tracker = make_tracker(batch_size=10)
    tracker.page_load("lobby")
    stats = [tracker.report(3, "e%d" % i) for i in range(3)]
    requests = tracker.keepalive_requests()
    assert [list(r.beacon_ids) for r in requests][0] == [r["i"] for r in stats]
    assert [r.queue for r in requests] == ["s", "t"]
    rest = tracker.keepalive_requests(exclude={r["i"] for r in stats})
    assert [r.queue for r in rest] == ["t"]
    assert tracker.keepalive_requests(budget_bytes=len(requests[0].body) - 1) == []
    assert len(tracker.keepalive_requests(budget_bytes=KEEPALIVE_BUDGET)) == 2 and tracker.pending() == 4


def test_keepalive_requests_none_offline_and_only_accepted_slots_leave():
    """Offline there is nothing to flush; a keepalive answer removes only the slots it accepted."""
    tracker = make_tracker(batch_size=10)
    for i in range(3):
        tracker.report(3, "e%d" % i)
    tracker.set_online(False)
    assert tracker.keepalive_requests() == []
    tracker.set_online(True)
    (req,) = tracker.keepalive_requests()
    body = '[null,{"code":"INTERNAL_SERVER_ERROR","objectType":"KalturaAPIException"},true]'
    assert tracker.sender_core.acknowledge(req, Response(200, None, body)) == 2
    assert [r["n"] for r in tracker.queued()] == ["e1"]
    assert tracker.sender_core.acknowledge(req, TransportError(ports.NETWORK)) == 0


# -- the urllib transport: headers kept, failures typed ----------------------------

class _Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        body = urllib.parse.parse_qs(self.rfile.read(length).decode())
        status = int(body.get("status", ["200"])[0])
        self.send_response(status)
        self.send_header("Retry-After", "17")
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"code":"X"}')

    def log_message(self, *args):
        pass


@pytest.fixture
def local_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d/" % server.server_address[1]
    server.shutdown()
    server.server_close()


class _Req:
    def __init__(self, url, body="status=200"):
        self.url, self.body, self.method = url, body, "POST"
        self.headers = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.mark.parametrize("status", [200, 429, 503])
def test_urllib_transport_keeps_status_headers_and_body(local_server, status):
    """Any HTTP answer, errors included, comes back as a Response with its headers (Retry-After kept)."""
    answer = UrllibTransport(timeout=5).send(_Req(local_server, "status=%d" % status))
    assert isinstance(answer, Response) and answer.status == status
    assert answer.header("retry-after") == "17" and answer.body == '{"code":"X"}'


def test_urllib_transport_refused_connection_is_a_network_error():
    """A port nobody listens on gives a TransportError of kind network."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    answer = UrllibTransport(timeout=5).send(_Req("http://127.0.0.1:%d/" % port))
    assert isinstance(answer, TransportError) and answer.kind == ports.NETWORK


def test_urllib_transport_silent_server_is_a_timeout():
    """A server that accepts the connection but never answers gives a TransportError of kind timeout."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    try:
        answer = UrllibTransport(timeout=0.2).send(_Req("http://127.0.0.1:%d/" % silent.getsockname()[1]))
    finally:
        silent.close()
    assert isinstance(answer, TransportError) and answer.kind == ports.TIMEOUT


def test_memory_store_is_a_store():
    """The memory store fills the Store port; the port itself is abstract."""
    store = MemoryStore()
    assert isinstance(store, ports.Store)
    with pytest.raises(NotImplementedError):
        ports.Store().load("s")
