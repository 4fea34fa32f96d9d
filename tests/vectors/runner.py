"""Runs the conformance vectors against the core, unchanged, on any runtime.

Used by pytest on CPython (tests/test_vectors.py) and by MicroPython 1.28
under Node (tests/micropython/run_vectors.mjs).  Only the core is imported.
"""

import json
import sys

from kaltura_web.core.encoding import kava_fields, wire_fields
from kaltura_web.core.ports import Response
from kaltura_web.core.tracker import Tracker

T0 = 1700000000
# optional configuration of a case ("config") -> (Tracker argument, the stats.collect field
# every beacon then carries)
ATTRIBUTION = {"userId": ("user_id", "userId"), "widgetId": ("widget_id", "widgetId"),
               "kalturaApplication": ("application", "applicationId")}
# other configuration of a case -> Tracker argument (the last two ride on KAVA and
# trackEvent beacons only, under their own names)
SETTINGS = {"protocol": "protocol", "quartiles": "quartiles",
            "kalturaApplicationVer": "application_version", "virtualEventId": "virtual_event_id"}
KAVA_ONLY = ("kalturaApplicationVer", "virtualEventId")
# KAVA parameters every KAVA beacon of a vector carries -> their value under the defaults;
# a beacon whose value differs keeps the field in its row's extras
KAVA_COMMON = (("playbackType", "vod"), ("deliveryType", "url"), ("playbackSpeed", 1))


class SequenceRng:
    """Deterministic getrandbits, the same on CPython and MicroPython."""

    def __init__(self, seed=12345):
        self.state = seed

    def getrandbits(self, bits):
        self.state = (self.state * 1103515245 + 12345) % 2147483648
        return self.state % (1 << bits) if bits < 31 else self.state


def _number(value):
    if value == "nan":
        return float("nan")
    if value == "inf":
        return float("inf")
    return value


def expand(steps):
    """Steps with 'run' macros expanded into progress observations."""
    out = []
    for step in steps:
        if step[0] == "run":
            t, start, stop = step[1], step[2], step[3]
            rate = step[4] if len(step) > 4 else 1
            pos = start
            while pos < stop - 1e-9:
                pos = min(pos + 0.5, stop)
                out.append(["progress", t + (pos - start) / rate, {"position": pos}])
        else:
            data = step[2] if len(step) > 2 else {}
            clean = {}
            for key in data:
                clean[key] = _number(data[key])
            out.append([step[0], step[1], clean])
    return out


def _answer(tracker, now, body, sent):
    """Deliver everything queued, each beacon answered HTTP 200 with ``body``."""
    core = tracker.sender_core
    for _ in range(10000):
        requests = core.due(now)
        if not requests:
            return
        for request in requests:
            records = tracker.engine.in_flight(request.queue)[:len(request.beacon_ids)]
            sent.extend(records)
            text = body if isinstance(body, str) else json.dumps(body)
            if request.queue == "s":
                text = "[" + ",".join(["true"] * len(records)) + "]" if len(records) > 1 else "true"
            core.receive(request, Response(200, {}, text), now)


def _kava_rows(records, defaults, config, errors):
    """KAVA records as vector rows: [eventType, session, eventIndex,
    eventTimestamp - T0, position, {other fields}]."""
    sessions = {}
    rows = []
    common = {"partnerId": defaults["partnerId"], "entryId": defaults["entryId"],
              "clientVer": defaults["clientVer"], "clientTag": defaults["clientVer"],
              "referrer": defaults["referrer"], "uiConfId": defaults["uiconfId"]}
    for key in config:
        if key in ATTRIBUTION or key in KAVA_ONLY:
            common[key] = config[key]
    for record in records:
        fields = dict(kava_fields(record))
        if not fields.pop("beaconId", None):
            errors.append("KAVA beacon %s without a beaconId" % record["e"])
        for name in common:
            if fields.pop(name, None) != common[name]:
                errors.append("KAVA beacon %s: %s missing or wrong" % (record["e"], name))
        for name, value in KAVA_COMMON:
            if name not in fields:
                errors.append("KAVA beacon %s: %s missing" % (record["e"], name))
            elif fields[name] == value:
                del fields[name]
        session = fields.pop("sessionId")
        if session not in sessions:
            sessions[session] = "K%d" % (len(sessions) + 1)
        rows.append([fields.pop("eventType"), sessions[session], fields.pop("eventIndex"),
                     fields.pop("eventTimestamp") - T0, fields.pop("position"), fields])
    return rows


def _same(expected, actual):
    """Rows equal, numbers compared to the millisecond (runtimes print floats differently)."""
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)) \
            and not isinstance(expected, bool) and not isinstance(actual, bool):
        return abs(expected - actual) < 0.0005
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(_same(e, a) for e, a in zip(expected, actual))
    if isinstance(expected, dict) and isinstance(actual, dict):
        return sorted(expected) == sorted(actual) and all(_same(expected[k], actual[k]) for k in expected)
    return expected == actual


def run_case(case, defaults):
    """A list of mismatch descriptions (empty when the case passes)."""
    now = [float(T0)]
    events = []
    diagnostics = []
    config = case.get("config", {})
    options = {}
    for key in config:
        if key in SETTINGS:
            options[SETTINGS[key]] = config[key]
        else:
            options[ATTRIBUTION[key][0]] = config[key]
    tracker = Tracker(defaults["partnerId"], clock=lambda: now[0], rng=SequenceRng(),
                      service_url="http://collector.test/api_v3", analytics_url="http://collector.test",
                      ks="vector-ks", uiconf_id=defaults["uiconfId"], client_ver=defaults["clientVer"],
                      referrer=defaults["referrer"], on_event=lambda e: events.append(e["name"]),
                      on_diagnostic=lambda entry: diagnostics.append(entry["code"]), **options)
    player = tracker.player(defaults["entryId"], ready=False)
    sent = []
    for step in case["steps"]:
        if step[0] == "answer":
            now[0] = T0 + step[1]
            _answer(tracker, now[0], step[2], sent)
            continue
        for kind, t, data in expand([step]):
            now[0] = T0 + t
            if kind == "tick":
                player.tick(T0 + t)
            else:
                player.observe(kind, T0 + t, **data)
    errors = []
    if "events" in case and events != case["events"]:
        errors.append("events: expected %s, got %s" % (case["events"], events))
    records = sent + tracker.queued()
    kava = [r for r in records if r.get("kv")]
    rows = _kava_rows(kava, defaults, config, errors)
    if not _same(case.get("kava", []), rows):
        errors.append("KAVA beacons:\n  expected %s\n  got      %s" % (case.get("kava", []), rows))
    sessions = {}
    actual = []
    beacon_ids = [r["i"] for r in kava]
    for record in records:
        if record.get("kv"):
            continue
        fields = dict(wire_fields(record))
        beacon_ids.append(fields.pop("event[beaconId]", None))
        session = fields.pop("event[sessionId]")
        if session not in sessions:
            sessions[session] = "S%d" % (len(sessions) + 1)
        common = {"event[objectType]": "KalturaStatsEvent", "event[partnerId]": str(defaults["partnerId"]),
                  "event[entryId]": defaults["entryId"], "event[uiconfId]": str(defaults["uiconfId"]),
                  "event[clientVer]": defaults["clientVer"], "event[referrer]": defaults["referrer"]}
        for key in config:
            if key in ATTRIBUTION:
                common["event[%s]" % ATTRIBUTION[key][1]] = config[key]
        for name in common:
            if fields.pop(name, None) != common[name]:
                errors.append("beacon %s: %s missing or wrong" % (record["e"], name))
        row = [int(fields.pop("event[eventType]")), sessions[session],
               int(fields.pop("event[eventTimestamp]")) - T0]
        for name in ("event[currentPoint]", "event[duration]"):
            value = fields.pop(name, None)
            row.append(None if value is None else int(value))
        seek = fields.pop("event[seek]", None)
        row.append(None if seek is None else seek == "true")
        if fields:
            errors.append("beacon %s: unexpected fields %s" % (row[0], sorted(fields)))
        actual.append(row)
    if actual != case.get("beacons", []):
        errors.append("beacons:\n  expected %s\n  got      %s" % (case.get("beacons", []), actual))
    if len(set(beacon_ids)) != len(beacon_ids) or None in beacon_ids:
        errors.append("beacon ids are not unique")
    # the expected diagnostic codes, in this order (others may come between)
    rest = list(diagnostics)
    for expected in case.get("diagnostics", []):
        if expected not in rest:
            errors.append("diagnostic %r not reported in order (got %s)" % (expected, diagnostics))
            break
        rest = rest[rest.index(expected) + 1:]
    return errors


def load(path):
    with open(path) as f:
        return json.load(f)


def main(path, runtime):
    data = load(path)
    passed = failed = 0
    for case in data["cases"]:
        try:
            errors = run_case(case, data["defaults"])
        except Exception as exc:  # a crash is a failure of that case only
            errors = ["raised %r" % (exc,)]
        if errors:
            failed += 1
            print("FAIL %s (%s)" % (case["name"], case["rule"]))
            for err in errors:
                print("    " + err)
        else:
            passed += 1
            print("ok   %s" % case["name"])
    print("conformance vectors on %s: %d passed, %d failed" % (runtime, passed, failed))
    return failed == 0


if __name__ == "__main__":
    ok = True
    for path in (sys.argv[1:] or ["tests/vectors/playback.json", "tests/vectors/kava.json"]):
        ok = main(path, sys.implementation.name) and ok
    sys.exit(0 if ok else 1)
