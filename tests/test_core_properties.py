"""Property-based tests of the pure core (Hypothesis).

Random player observations go through the public Player API the way the
browser edge feeds it (NaN, infinite, negative, backwards and huge values in
any order): a call either raises TypeError/ValueError because its own
argument is wrong, changing nothing, or it works; and the beacons keep the
guide's invariants.  Random text, bytes, answers and stored records go
through the encoder and the delivery loop without ever raising.

Reproducible: derandomized, no example database.
"""

import json
import os
import urllib.parse

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kaltura_web.core import MemoryStore, encoding
from kaltura_web.cpython import SyncSender
from kaltura_web.core.validation import MAX_SECONDS, MAX_TIME, encodable
from tests.fakes import T0, FakeClock, ScriptedTransport, make_tracker, tracker_state

SETTINGS = settings(max_examples=250, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FAST = settings(SETTINGS, max_examples=150)

INF, NAN = float("inf"), float("nan")
ODD_NUMBERS = st.sampled_from([NAN, INF, -INF, -1.0, -0.0, 0, 1e-9, 1e300, 2.0 ** 31, 2 ** 70, -(2 ** 70)])
PLAUSIBLE = st.one_of(st.floats(0, 20), st.integers(0, 20))
POSITIONS = st.one_of(PLAUSIBLE, PLAUSIBLE, PLAUSIBLE, ODD_NUMBERS, st.floats(), st.none())
DURATIONS = st.one_of(st.sampled_from([8.0, 12.0, 20.0, 3.5]), ODD_NUMBERS, st.floats(), st.none())
STEPS_DT = st.one_of(st.floats(0, 3), st.floats(0, 3), st.floats(0, 3), st.floats(-3, 0), ODD_NUMBERS)
QUARTILE_FRACTIONS = {"PLAY_REACHED_25": 0.25, "PLAY_REACHED_50": 0.5, "PLAY_REACHED_75": 0.75,
                      "PLAY_REACHED_100": 1.0}
RUN_STEP = 0.5  # a run is natural playback: progress every half second, as timeupdate does

# method -> (strategy of its value, whether the method checks the value as a position)
STEPS = {
    "loaded": (DURATIONS, False),
    "play_request": (st.none(), False),
    "playing": (POSITIONS, True),
    "play": (POSITIONS, True),
    "pause": (POSITIONS, True),
    "seek": (POSITIONS, True),
    "seeking": (POSITIONS, True),
    "seeked": (POSITIONS, True),
    "waiting": (POSITIONS, True),
    "progress": (POSITIONS, True),
    "run": (st.floats(0, 12), False),  # seconds of natural playback from where the playhead is
    "ended": (st.none(), False),
    "rate": (st.one_of(st.sampled_from([0.5, 1.0, 2.0]), ODD_NUMBERS), False),
    "ad_start": (st.just("midroll"), False),
    "ad_end": (st.none(), False),
    "close": (st.none(), False),
}
REQUIRED_POSITION = ("progress",)
LIKELY = ("run", "run", "run", "loaded", "play", "seek", "seek", "waiting", "playing")  # drawn more often
STEP = st.one_of([st.tuples(st.just(name), STEPS[name][0], STEPS_DT) for name in list(STEPS) + list(LIKELY)])
# half the sequences start with playback under way, so the later steps meet every state
STARTS = st.sampled_from([[], [("loaded", 8.0, 0.0), ("play", 0.0, 0.5)],
                          [("play_request", None, 0.0), ("loaded", 20.0, 0.1), ("playing", 0.0, 0.1)]])
SEQUENCES = st.builds(lambda start, rest: start + rest, STARTS, st.lists(STEP, max_size=40))


def _valid_seconds(value, limit):
    return type(value) in (int, float) and -INF < value < INF and 0 <= value <= limit


def _expect_refusal(method, value, t):
    """Whether the call's own arguments are wrong (the spec, independent of the code)."""
    if not _valid_seconds(t, MAX_TIME):
        return True
    if not STEPS[method][1]:
        return False
    if value is None:
        return method in REQUIRED_POSITION
    return not _valid_seconds(value, MAX_SECONDS)


class SeekModel:
    """Playhead ranges a seek jumped over: a quartile inside one must not fire
    until the playhead is reported back before it."""

    def __init__(self):
        self.position = 0.0
        self.skipped = []  # (a, b]: jumped over from a to b

    def check(self, events):
        for event in events:
            fraction = QUARTILE_FRACTIONS.get(event["name"])
            if fraction is None:
                continue
            point = event["duration"] * fraction
            for a, b in self.skipped:
                assert not a < point <= b, "%s fired though a seek jumped over %s (%s..%s]" % (
                    event["name"], point, a, b)

    def seek(self, target):
        if target > self.position:
            self.skipped.append((self.position, target))
        self.position = target

    def report(self, position):
        self.skipped = [(a, min(b, position)) for a, b in self.skipped if min(b, position) > a]
        self.position = position

    def replay(self):
        self.skipped = []
        self.position = 0.0


def _call(player, method, value, t):
    if method in ("play_request", "ended", "ad_end", "close"):
        return getattr(player, method)(t=t)
    return getattr(player, method)(value, t=t)


def _check_sessions(events):
    """One PLAY per session; quartiles and SEEK after it, quartiles once each and
    in order; BUFFER_START/END strictly paired and closed before PAUSE, SEEK, ENDED."""
    sessions = {}
    for event in events:
        sessions.setdefault(event["sessionId"], []).append(event["name"])
    order = list(QUARTILE_FRACTIONS)
    for names in sessions.values():
        assert names.count("PLAY") <= 1, names
        quartiles = [n for n in names if n in QUARTILE_FRACTIONS]
        assert quartiles == sorted(set(quartiles), key=order.index), names
        played = buffering = False
        for name in names:
            played = played or name == "PLAY"
            if name in QUARTILE_FRACTIONS or name in ("SEEK", "BUFFER_START"):
                assert played, names
            if name in ("PAUSE", "SEEK", "ENDED", "BUFFER_START"):
                assert not buffering, names
            if name == "BUFFER_END":
                assert buffering, names
            buffering = name == "BUFFER_START" or (buffering and name != "BUFFER_END")


@SETTINGS
@given(SEQUENCES)
def test_random_observations_keep_the_invariants(steps):
    """Any sequence of observations: wrong arguments raise at the call and change nothing; the beacons keep every rule."""
    clock = FakeClock()
    events = []
    tracker = make_tracker(clock, on_event=events.append)
    player = tracker.player("1_prop", ready=False)
    model = SeekModel()
    t = T0
    calls = []
    for kind, value, dt in steps:
        if kind == "run":  # expanded below, from the playhead the model knows then
            calls.extend([("run", None, RUN_STEP)] * int(value / RUN_STEP))
        else:
            calls.append((kind, value, dt))
    for method, value, dt in calls:
        if method == "run":
            method, value = "progress", model.position + RUN_STEP
        call_t = t + dt
        before, start = tracker_state(tracker), len(events)
        refused = _expect_refusal(method, value, call_t)
        try:
            _call(player, method, value, call_t)
        except (TypeError, ValueError):
            assert refused, "%s(%r, t=%r) raised though its arguments are fine" % (method, value, call_t)
            assert tracker_state(tracker) == before and len(events) == start
            continue
        assert not refused, "%s(%r, t=%r) was accepted" % (method, value, call_t)
        t = call_t
        new = events[start:]
        model.check(new)
        if any(e["name"] == "REPLAY" for e in new):
            model.replay()
        if method in ("seek", "seeking", "seeked") and value is not None:
            model.seek(value)
        elif value is not None and STEPS[method][1]:
            model.report(value)
    _check_sessions(events)
    for record in tracker.queued():
        fields = dict(encoding.wire_fields(record))
        for name in ("event[eventTimestamp]", "event[currentPoint]", "event[duration]"):
            if name in fields:
                assert fields[name].isdigit() and int(fields[name]) <= MAX_TIME, fields
        encoding.encode(record, tracker.ks, tracker.service_url, tracker.analytics_url)


ANY_TEXT = st.text(st.one_of(st.characters(), st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)),
                   max_size=40)


@SETTINGS
@given(ANY_TEXT, st.sampled_from(["page_type", "page_name", "application", "entry_id"]))
def test_any_text_is_either_sent_as_is_or_refused_at_the_call(value, argument):
    """A string reaches the wire unchanged when it can be encoded; otherwise ValueError at the call, nothing queued."""
    tracker = make_tracker()
    before = tracker_state(tracker)
    arguments = {"page_type": "lobby", argument: value}
    try:
        record = tracker.page_load(**arguments)
    except ValueError as exc:
        assert argument in str(exc)
        assert (not encodable(value)) or (argument == "entry_id" and not value.strip())
        assert tracker_state(tracker) == before
        return
    request = encoding.encode(record, tracker.ks, tracker.service_url, tracker.analytics_url)
    sent = dict(urllib.parse.parse_qsl(request.body, keep_blank_values=True))
    wire = {"page_type": "pageType", "page_name": "pageName", "application": "kalturaApplication",
            "entry_id": "entryId"}[argument]
    assert sent.get(wire, "") == value


@FAST
@given(st.binary(max_size=40))
def test_bytes_are_refused_and_fsdecoded_names_are_sent_or_refused(raw):
    """bytes are a TypeError; a name os.fsdecode made of them is sent, or refused with ValueError."""
    tracker = make_tracker()
    try:
        tracker.button_click("file", raw)
    except TypeError:
        pass
    else:
        raise AssertionError("bytes were accepted")
    name = os.fsdecode(raw)
    try:
        tracker.button_click("file", name)
    except ValueError:
        assert not encodable(name)
    assert tracker.pending() == (1 if encodable(name) else 0)


JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.floats(), st.integers(), ANY_TEXT),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(ANY_TEXT, inner, max_size=4)),
    max_leaves=12)
API_EXCEPTIONS = st.fixed_dictionaries({"objectType": st.just("KalturaAPIException"),
                                        "code": st.one_of(JSON_VALUES, st.sampled_from(["INVALID_KS", "MISSING_MANDATORY_PARAMETER", "INTERNAL_SERVER_ERROR"]))})
BODIES = st.one_of(
    ANY_TEXT,
    JSON_VALUES.map(json.dumps),
    st.lists(st.one_of(API_EXCEPTIONS, JSON_VALUES), max_size=6).map(json.dumps),
    API_EXCEPTIONS.map(json.dumps),
    st.integers(1, 20000).map(lambda n: '{"a":' * n + "1" + "}" * n),
    st.builds(lambda code: "<xml><error><objectType>KalturaAPIException</objectType><code>%s</code></error></xml>" % code, ANY_TEXT),
)
STATUSES = st.one_of(st.none(), st.integers(100, 599), st.just(200))
OUTCOMES = (encoding.ACCEPTED, encoding.AUTH, encoding.BAD_BEACON, encoding.CONFIG, encoding.TRANSIENT)


@SETTINGS
@given(STATUSES, BODIES, st.integers(1, 6))
def test_any_answer_is_classified_without_raising(status, body, count):
    """Whatever a server answers, every beacon gets a known outcome and a reason that can be stored."""
    outcomes = encoding.classify_batch(status, body, count) + [encoding.classify(status, body)]
    assert len(outcomes) == count + 1
    for outcome, reason in outcomes:
        assert outcome in OUTCOMES
        assert type(reason) is str and encodable(reason) and len(reason) < 300


FIELD_VALUES = st.one_of(ANY_TEXT, st.floats(), st.integers(), st.none(), st.booleans(),
                         st.lists(st.integers(), max_size=2), ODD_NUMBERS)


def _corrupt(base, changes):
    record = dict(base)
    for key, value in changes.items():
        if value is None:
            record.pop(key, None)
        else:
            record[key] = value
    return record


STATS_KEYS = st.sampled_from(["p", "n", "e", "s", "t", "u", "c", "r", "cp", "d", "sk", "k"])
TRACK_KEYS = st.sampled_from(["e", "p", "t", "n", "a", "pt", "pn", "bt", "bn", "k"])


@FAST
@given(st.lists(st.tuples(st.booleans(), st.dictionaries(STATS_KEYS, FIELD_VALUES, max_size=3),
                          st.dictionaries(TRACK_KEYS, FIELD_VALUES, max_size=3)), max_size=8),
       st.integers(1, 5))
def test_a_store_of_any_records_drains_without_raising(specs, batch_size):
    """Stored records with arbitrary field values (older versions, corruption) never stop flush: each is delivered once or dead-lettered."""
    clock = FakeClock()
    maker = make_tracker(clock)
    store = MemoryStore()
    ids = []
    for is_stats, stats_changes, track_changes in specs:
        if is_stats:
            record = _corrupt(maker.report(3, "e"), stats_changes)
        else:
            record = _corrupt(maker.page_load("lobby"), track_changes)
        queue = encoding.STATS if is_stats else encoding.TRACK
        record["k"] = queue  # a record sits in the queue of its kind
        store.append(queue, record)
        ids.append(record["i"])
    tracker = make_tracker(clock, store=store, batch_size=batch_size)
    transport = ScriptedTransport()
    assert SyncSender(tracker, transport, clock=clock, sleep=clock.sleep).flush(timeout=5)
    counts = transport.sent_counts()
    dead = [d["record"]["i"] for q in encoding.QUEUES for d in store.dead_letters(q)]
    assert sorted(list(counts) + dead) == sorted(ids)
    assert set(counts.values()) <= {1}
    for q in encoding.QUEUES:
        assert all(encodable(d["reason"]) for d in store.dead_letters(q))
