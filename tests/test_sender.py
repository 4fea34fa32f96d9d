"""The sender core on a fake clock with scripted transports: Retry-After,
the KS episode, out-of-band acknowledgements, whole-batch failures,
transport errors, and the unload flush's requests."""

import calendar

import pytest

from kaltura_web.core import ports
from kaltura_web.core.ports import Response, TransportError
from kaltura_web.core.sender import KEEPALIVE_BUDGET, mask_ks
from tests.fakes import (INVALID_KS, STEP_BUDGET, FakeClock, RunawayLoop, ScriptedTransport, calls, make_tracker,
                         retry_round, sequence, sync_sender)


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


def raising(error):
    """A scripted transport whose every send raises ``error``."""
    def handler(request):
        raise error
    return ScriptedTransport(handler)


@pytest.mark.parametrize("error, kind", [(TransportError(ports.TIMEOUT, "slow"), "timeout"),
                                         (OSError("reset by peer"), "network")])
def test_a_raising_transport_gives_a_retry_not_a_stuck_batch(error, kind):
    """A transport that raises (a TransportError or anything else) is an answer-less failure: retried later."""
    clock = FakeClock()
    lines = []
    tracker = make_tracker(clock)
    tracker.report(3, "e")
    sync_sender(tracker, clock, raising(error), log=lines.append).pump()
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
    """An answer for a beacon no longer in flight settles nothing; it is noted and reported naming the beacon."""
    clock = FakeClock()
    tracker = make_tracker(clock)
    tracker.report(3, "e")
    (req,) = tracker.due_requests()
    tracker.sender_core.receive(req, Response(200, None, "null"))
    tracker.report(4, "e")
    step = tracker.sender_core.receive(req, Response(200, None, "null"))
    assert (step.outcome, step.accepted, step.note) == ("accepted", 0, "answer for a beacon not in flight ignored")
    assert tracker.pending() == 1
    assert tracker.diagnostics[-1]["code"] == "stray-answer"
    assert tracker.diagnostics[-1]["details"] == {"beacon": req.beacon_id}


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


def test_the_default_keepalive_budget_is_64_kib_of_bodies():
    """Without a budget, keepalive requests stop before their bodies pass 65536 characters (the browsers' limit)."""
    tracker = make_tracker()
    for _ in range(60):
        tracker.page_load("p" * 1025)  # each request body is 1130 characters: 57 fit, 58 do not
    requests = tracker.sender_core.keepalive_requests()
    assert {len(r.body) for r in requests} == {1130} and len(requests) == 57
    assert len(tracker.sender_core.keepalive_requests(exclude=set())) == 57


def test_the_keepalive_budget_counts_every_request_and_is_inclusive():
    """A budget of exactly the bodies' total takes them all; one less stops before the last request."""
    tracker = make_tracker(batch_size=10)
    for i in range(3):
        tracker.report(3, "e%d" % i)
    tracker.page_load("lobby")
    tracker.page_load("hall")
    everything = tracker.keepalive_requests()
    sizes = [len(r.body) for r in everything]
    assert [r.queue for r in everything] == ["s", "t", "t"]
    assert [r.body for r in tracker.keepalive_requests(budget_bytes=sum(sizes))] == [r.body for r in everything]
    assert [r.queue for r in tracker.keepalive_requests(budget_bytes=sum(sizes) - 1)] == ["s", "t"]
    assert [r.queue for r in tracker.keepalive_requests(budget_bytes=sizes[0])] == ["s"]


def test_keepalive_skips_a_record_that_cannot_be_encoded():
    """An unencodable record at the head is left to the send loop; the records behind it still go in the flush."""
    clock = FakeClock()
    old = make_tracker(clock)
    bad = dict(old.page_load("lobby"), pn="x-\udcff")
    good = [old.page_load("hall"), old.page_load("exit")]
    store = ports.MemoryStore()
    for record in [bad] + good:
        store.append("t", record)
    tracker = make_tracker(clock, store=store)
    requests = tracker.keepalive_requests()
    assert [r.beacon_id for r in requests] == [r["i"] for r in good]


def test_keepalive_requests_never_wait_on_a_later_small_request():
    """When the next request does not fit, nothing after it is added, even a smaller one (order is kept)."""
    tracker = make_tracker(batch_size=10)
    tracker.page_load("p" * 2000)
    tracker.page_load("q")
    big, small = tracker.keepalive_requests()
    assert tracker.keepalive_requests(budget_bytes=len(small.body) + 10) == []


def test_mask_ks_shows_eight_and_four_characters_of_a_long_ks_only():
    """A KS of 17 or more characters shows its first 8 and last 4; up to 16, nothing; a non-string is masked as text."""
    assert mask_ks("abcdefghijklmnopq") == "abcdefgh…nopq"
    assert mask_ks("abcdefghijklmnop") == "…"
    assert mask_ks("") == "<none>" and mask_ks(None, empty="-") == "-"
    assert mask_ks(123456789012345678901) == "12345678…8901"


def test_a_step_says_what_an_answer_did():
    """An accepted answer: outcome accepted, the count, no KS to ask for, no note; its repr says the same."""
    clock = FakeClock()
    tracker = make_tracker(clock)
    tracker.report(3, "e")
    (req,) = tracker.due_requests()
    step = tracker.sender_core.receive(req, Response(200, None, "null"))
    assert (step.outcome, step.accepted, step.ask_ks, step.note) == ("accepted", 1, False, None)
    assert repr(step) == "Step(accepted, accepted=1, ask_ks=False)"


def test_the_note_of_a_throttled_answer_names_the_wait():
    """A 429 with Retry-After 30 is noted with the outcome, the status and the wait."""
    clock = FakeClock()
    tracker = make_tracker(clock)
    tracker.report(3, "e")
    (req,) = tracker.due_requests()
    step = tracker.sender_core.receive(req, Response(429, {"Retry-After": "30"}, ""))
    assert step.note == "beacon %s: transient (HTTP 429), Retry-After 30 s" % req.beacon_id[:8]


def test_the_note_without_a_provider_is_one_exact_line():
    """A rejected KS and no provider: the note says delivery waits for a new KS, and nothing is asked."""
    clock = FakeClock()
    tracker = make_tracker(clock)
    tracker.report(3, "e")
    (req,) = tracker.due_requests()
    step = tracker.sender_core.receive(req, Response(401))
    assert step.ask_ks is False
    assert step.note == ("beacon %s: auth (HTTP 401); KS rejected and no KS provider: delivery paused until a new KS"
                         % req.beacon_id[:8])


def test_take_ks_uses_a_good_answer_and_notes_it_masked():
    """A usable KS from the provider is set and noted masked; a bad one is refused with a note and changes nothing."""
    tracker = make_tracker(ks="old-ks")
    core = tracker.sender_core
    assert core.take_ks("djJ8MTAwfABCDEFGHIJK") == ("djJ8MTAwfABCDEFGHIJK", "new KS from provider: djJ8MTAw…HIJK")
    assert tracker.ks == "djJ8MTAwfABCDEFGHIJK"
    assert core.take_ks(42) == (None, "KS provider gave no usable KS: delivery stays paused")
    assert tracker.ks == "djJ8MTAwfABCDEFGHIJK"


def test_handle_response_without_a_status_is_a_network_error():
    """The older driver form (status None) counts as a network failure: its reason names the network, not a broken transport."""
    clock = FakeClock()
    tracker = make_tracker(clock)
    tracker.report(3, "e")
    for _ in range(4):
        (req,) = tracker.due_requests()
        assert tracker.handle_response(req, None, "") == "transient"
        clock.now = tracker.next_wakeup()
    (entry,) = [d for d in tracker.diagnostics if d["code"] == "retries-exhausted"]
    assert entry["details"]["reason"] == "network: no answer"


def test_due_goes_on_after_an_unencodable_head_in_the_same_call():
    """A head that cannot be encoded is dead-lettered inside due(), which then returns the next record of that queue."""
    clock = FakeClock()
    old = make_tracker(clock)
    bad = dict(old.page_load("lobby"), pn="x-\udcff")
    good = old.page_load("hall")
    store = ports.MemoryStore()
    store.append("t", bad)
    store.append("t", good)
    tracker = make_tracker(clock, store=store)
    (req,) = tracker.due_requests()
    assert req.beacon_id == good["i"] and [d["record"]["i"] for d in store.dead_letters("t")] == [bad["i"]]


def test_a_loop_that_makes_no_progress_fails_instead_of_hanging():
    """The fakes stop a sender that keeps sending or sleeping past the step budget (a BaseException no except swallows)."""
    clock, transport = FakeClock(), ScriptedTransport()
    tracker = make_tracker(clock)
    tracker.report(3, "e")
    (request,) = tracker.due_requests()
    with pytest.raises(RunawayLoop, match="sent more than"):
        for _ in range(STEP_BUDGET + 1):
            try:
                transport.send(request)
            except Exception:  # what SyncSender.pump does around a transport
                pass
    with pytest.raises(RunawayLoop, match="slept more than"):
        for _ in range(STEP_BUDGET + 1):
            clock.sleep(0.0)
