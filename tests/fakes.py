"""Test doubles for the pure core: a fake clock and a scripted transport."""

import json
import random
import urllib.parse

from kaltura_web import Tracker
from kaltura_web.core.encoding import Request
from kaltura_web.core.ports import Response, Transport, TransportError
from kaltura_web.cpython import SyncSender

T0 = 1_700_000_000.0
# No test sends or sleeps this often: a sender that does is looping without progress.
STEP_BUDGET = 5000


class RunawayLoop(BaseException):
    """A sender kept sending or sleeping past ``STEP_BUDGET``: the test fails at
    once instead of hanging.  A BaseException, so a sender's ``except
    Exception`` around the transport cannot swallow it."""


def spend(used, what):
    """Count one step of ``what``; raise RunawayLoop past the budget."""
    if used >= STEP_BUDGET:
        raise RunawayLoop("%s more than %d times: a loop that makes no progress" % (what, STEP_BUDGET))
    return used + 1


class FakeClock:
    def __init__(self, now=T0):
        self.now = now
        self.sleeps = 0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps = spend(self.sleeps, "slept")
        self.now += seconds


def calls(request):
    """The beacons a request carries, each as a dict of its wire fields
    (a multirequest's ``N:event:x`` become ``event[x]``), plus the ks."""
    pairs = urllib.parse.parse_qsl(request.body)
    top = {k: v for k, v in pairs if not k[:1].isdigit()}
    if "multirequest" not in request.url:
        return [top]
    out = {}
    for key, value in pairs:
        if key[:1].isdigit():
            n, name = key.split(":", 1)
            if name.startswith("event:"):
                name = "event[%s]" % name[6:]
            out.setdefault(int(n), dict(top))[name] = value
    return [out[n] for n in sorted(out)]


def answer(value):
    """A handler's answer as a transport gives it: ``(status, body)`` or
    ``(status, body, headers)`` become a Response; a TransportError stays."""
    if isinstance(value, TransportError):
        return value
    return Response(value[0], value[2] if len(value) > 2 else None, value[1])


class ScriptedTransport(Transport):
    """Answers requests from a handler (like httpx's MockTransport) and keeps them.

    The handler answers one beacon at a time with ``(status, body)``,
    ``(status, body, headers)`` or a ``TransportError``: a multirequest asks
    it once per call, in order, and answers the list of results as Kaltura
    does (the first failed answer fails the whole request)."""

    def __init__(self, handler=None):
        self.handler = handler or (lambda request: (200, "null"))
        self.requests = []

    def send(self, request):
        spend(len(self.requests), "sent")
        self.requests.append(request)
        if "multirequest" not in request.url:
            return answer(self.handler(request))
        answers = []
        collect = request.url.replace("/service/multirequest", "/service/stats/action/collect")
        for call in calls(request):
            single = Request("s", call["event[beaconId]"], collect, urllib.parse.urlencode(call))
            reply = answer(self.handler(single))
            if isinstance(reply, TransportError) or reply.status != 200:
                return reply  # no answer, or an HTTP failure, fails the whole request
            answers.append(json.loads(reply.body) if reply.body.strip() else None)
        return Response(200, None, json.dumps(answers))

    def fields(self, i=-1):
        return calls(self.requests[i])[0]

    def beacons(self):
        """Every beacon sent, in order, as wire-field dicts."""
        return [c for req in self.requests for c in calls(req)]

    def sent_counts(self):
        """How many times each beacon id went out (nothing is de-duplicated, as on real Kaltura)."""
        counts = {}
        for beacon in self.beacons():
            beacon_id = beacon.get("event[beaconId]", beacon.get("beaconId"))
            counts[beacon_id] = counts.get(beacon_id, 0) + 1
        return counts

    def event_types(self):
        return [int(f.get("event[eventType]", f.get("eventType", 0))) for f in self.beacons()]


def sequence(*answers, then=(200, "null")):
    """A handler giving ``answers`` in order, then ``then`` forever."""
    pending = list(answers)

    def handler(request):
        return pending.pop(0) if pending else then

    return handler


def make_tracker(clock=None, **options):
    clock = clock or FakeClock()
    options.setdefault("ks", "ks-one")
    options.setdefault("service_url", "http://collector.test/api_v3")
    options.setdefault("analytics_url", "http://collector.test")
    return Tracker(4242, clock=clock, rng=random.Random(7), **options)


def sync_sender(tracker, clock, transport, log=None):
    """A SyncSender on the fake clock: its waits move the clock, nothing sleeps."""
    return SyncSender(tracker, transport, clock=clock, sleep=clock.sleep, log=log)


def retry_round(tracker, clock, sender):
    """Send, then wait out each of the round's three retries and send again."""
    sender.pump()
    for _ in range(3):
        clock.now = tracker.next_wakeup()
        sender.pump()


def tracker_state(tracker):
    """Everything an API call may change, as text (NaN-safe to compare): queued
    records, the random source, diagnostics, the KS and every player's state machine."""
    players = []
    for player in tracker.players:
        machine = {k: v for k, v in vars(player.session).items() if k not in ("_handlers", "_rng", "_diag")}
        machine["quartiles"] = vars(player.session.quartiles)
        players.append(machine)
    return repr((tracker.queued(), tracker.rng.getstate(), tracker.diagnostics, tracker.engine.ks, players))


INVALID_KS = ('{"code":"INVALID_KS","message":"Invalid KS","objectType":"KalturaAPIException",'
              '"args":{"KSID":"x","ERR_CODE":"-1","ERR_DESC":"INVALID_STR"}}')
TRANSIENT_ERROR = '{"code":"INTERNAL_SERVER_ERROR","message":"Internal server error","objectType":"KalturaAPIException","args":{}}'
MISSING = ('{"code":"MISSING_MANDATORY_PARAMETER","message":"Missing parameter \\"event\\"",'
           '"objectType":"KalturaAPIException","args":{}}')
