"""Test doubles for the pure core: a fake clock and a scripted transport."""

import random
import urllib.parse

from kaltura_web import Tracker

T0 = 1_700_000_000.0


class FakeClock:
    def __init__(self, now=T0):
        self.now = now

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


class ScriptedTransport:
    """Answers requests from a handler (like httpx's MockTransport) and keeps them."""

    def __init__(self, handler=None):
        self.handler = handler or (lambda request: (200, "null"))
        self.requests = []

    def send(self, request):
        self.requests.append(request)
        return self.handler(request)

    def fields(self, i=-1):
        return dict(urllib.parse.parse_qsl(self.requests[i].body))

    def event_types(self):
        out = []
        for req in self.requests:
            f = dict(urllib.parse.parse_qsl(req.body))
            out.append(int(f.get("event[eventType]", f.get("eventType", 0))))
        return out


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


INVALID_KS = ('{"code":"INVALID_KS","message":"Invalid KS","objectType":"KalturaAPIException",'
              '"args":{"KSID":"x","ERR_CODE":"-1","ERR_DESC":"INVALID_STR"}}')
MISSING = ('{"code":"MISSING_MANDATORY_PARAMETER","message":"Missing parameter \\"event\\"",'
           '"objectType":"KalturaAPIException","args":{}}')
