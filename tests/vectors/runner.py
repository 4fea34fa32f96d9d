"""Runs the conformance vectors against the core, unchanged, on any runtime.

Used by pytest on CPython (tests/test_vectors.py) and by MicroPython 1.28
under Node (tests/micropython/run_vectors.mjs).  Only the core is imported.
"""

import json
import sys

from kaltura_web.core.encoding import wire_fields
from kaltura_web.core.tracker import Tracker

T0 = 1700000000
# optional configuration of a case ("config") -> (Tracker argument, the stats.collect field
# every beacon then carries)
ATTRIBUTION = {"userId": ("user_id", "userId"), "widgetId": ("widget_id", "widgetId"),
               "kalturaApplication": ("application", "applicationId")}


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


def run_case(case, defaults):
    """A list of mismatch descriptions (empty when the case passes)."""
    now = [float(T0)]
    events = []
    diagnostics = []
    config = case.get("config", {})
    options = {}
    for key in config:
        options[ATTRIBUTION[key][0]] = config[key]
    tracker = Tracker(defaults["partnerId"], clock=lambda: now[0], rng=SequenceRng(),
                      service_url="http://collector.test/api_v3", analytics_url="http://collector.test",
                      ks="vector-ks", uiconf_id=defaults["uiconfId"], client_ver=defaults["clientVer"],
                      referrer=defaults["referrer"], on_event=lambda e: events.append(e["name"]),
                      on_diagnostic=lambda entry: diagnostics.append(entry["code"]), **options)
    player = tracker.player(defaults["entryId"], ready=False)
    for kind, t, data in expand(case["steps"]):
        now[0] = T0 + t
        player.observe(kind, T0 + t, **data)
    errors = []
    if events != case["events"]:
        errors.append("events: expected %s, got %s" % (case["events"], events))
    sessions = {}
    actual = []
    beacon_ids = []
    for record in tracker.queued():
        fields = dict(wire_fields(record))
        beacon_ids.append(fields.pop("event[beaconId]", None))
        session = fields.pop("event[sessionId]")
        if session not in sessions:
            sessions[session] = "S%d" % (len(sessions) + 1)
        common = {"event[objectType]": "KalturaStatsEvent", "event[partnerId]": str(defaults["partnerId"]),
                  "event[entryId]": defaults["entryId"], "event[uiconfId]": str(defaults["uiconfId"]),
                  "event[clientVer]": defaults["clientVer"], "event[referrer]": defaults["referrer"]}
        for key in config:
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
    if actual != case["beacons"]:
        errors.append("beacons:\n  expected %s\n  got      %s" % (case["beacons"], actual))
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
    ok = main(sys.argv[1] if len(sys.argv) > 1 else "tests/vectors/playback.json",
              sys.implementation.name)
    sys.exit(0 if ok else 1)
