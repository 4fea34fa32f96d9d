"""The timeupdate gate's decision, on the core (CPython).

``Player.quiet_window()`` says what would be news for the next timeupdates;
``quartiles.is_quiet`` is the rule the browser's JavaScript gate applies to it
(kaltura_web/browser/gate.py).  ``SimGate`` below does in Python what that
JavaScript does, so the property test can hold the claim the gate rests on:
any observation sequence gives exactly the same events, records and
diagnostics with the gate's filtering as without it.
"""

import json
import random
import shutil
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kaltura_web.browser.gate import QUIET_JS
from kaltura_web.core.kava import GATE_MARGIN
from kaltura_web.core.quartiles import KAVA_SHARE_MARGIN, ROUNDING, is_quiet
from kaltura_web.core.session import PlaybackSession
from kaltura_web.core.validation import MAX_SECONDS, MAX_TIME

from .fakes import T0, FakeClock, make_tracker

SETTINGS = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


class SimGate:
    """What gate.py's JavaScript and ``TimeupdateGate`` do, in Python: hold back
    the quiet timeupdates, forward the first one outside the window with the
    last one held, and hand the held one over before any other observation."""

    def __init__(self, player):
        self.player = player
        self.window = None  # open when not None
        self.last_p = self.last_t = None
        self.held = False
        self.seen = self.forwarded = 0
        player.catch_up = self.catch_up

    def timeupdate(self, p, t):
        self.seen += 1
        if self.window is not None and is_quiet(self.window, self.last_p, self.last_t, p, t):
            self.last_p, self.last_t, self.held = p, t, True
            return
        self.forwarded += 1
        self.window = None
        held, self.held = self.held, False
        if held:
            self.player.progress(self.last_p, t=self.last_t)
        self.player.progress(p, t=t)
        self.window = self.player.quiet_window()
        if self.window is not None:
            self.last_p, self.last_t = self.window[0], self.window[1]

    def catch_up(self):
        if self.window is not None:
            self.window = None
            if self.held:
                self.held = False
                self.player.progress(self.last_p, t=self.last_t)


def playing_player(duration=40.0, **options):
    tracker = make_tracker(FakeClock(), **options)
    player = tracker.player("1_gate")
    player.loaded(duration, t=T0)
    player.play(0.0, t=T0)
    return tracker, player


# --- what Python tells the gate -------------------------------------------------

def test_while_playing_the_window_names_the_next_quartile_and_the_natural_reach():
    """After a timeupdate at 2 s of a 40-s clip: the anchor, speed 1, 25% (10 s) as the limit, no KAVA time."""
    _, player = playing_player()
    player.progress(2.0, t=T0 + 2)
    assert player.quiet_window() == (2.0, T0 + 2, 1.0, 10.0, ROUNDING, float(MAX_TIME))


def test_after_a_quartile_fired_the_window_names_the_next_one():
    """Crossing 25% moves the limit to 50%, then 75%, 90% and 100%."""
    _, player = playing_player()
    limits = []
    for position in (10.0, 20.0, 30.0, 36.0):
        player.progress(position, t=T0 + position)
        limits.append(player.quiet_window()[3])
    assert limits == [20.0, 30.0, 36.0, 40.0]


def test_quartiles_a_seek_jumped_over_lie_behind_the_window():
    """Guide rule: after a seek to 25 s, 25% and 50% are unfired but behind the playhead; 75% is the limit."""
    _, player = playing_player()
    player.seek(25.0, t=T0 + 1)
    player.progress(25.25, t=T0 + 1.25)
    assert player.quiet_window() == (25.25, T0 + 1.25, 1.0, 30.0, ROUNDING, float(MAX_TIME))


def test_under_the_kava_rule_the_limit_keeps_a_margin_below_the_rounded_share():
    """quartiles="kava": the limit is the duration times (next fraction - 0.006), with no rounding term."""
    _, player = playing_player(quartiles="kava")
    player.progress(2.0, t=T0 + 2)
    assert player.quiet_window()[3:5] == (40.0 * (0.25 - KAVA_SHARE_MARGIN), 0.0)
    for share in (0.243, 0.244, 0.2449):  # just below the limit: rounds to 0.24, never 0.25
        assert round(40.0 * share / 40.0, 2) < 0.25


def test_under_the_kava_rule_no_position_that_rounds_up_to_a_quartile_is_quiet():
    """Shares from 0.2440 to 0.2500 of a 40-s clip: whatever rounds to 0.25 reaches Python."""
    _, player = playing_player(quartiles="kava")
    player.progress(2.0, t=T0 + 2)
    window = player.quiet_window()
    for step in range(61):
        p = 40.0 * (0.244 + step * 0.0001)
        if round(p / 40.0, 2) >= 0.25:
            assert not is_quiet(window, 2.0, T0 + 2, p, T0 + 40), p


def test_the_speed_is_the_playback_rate_never_below_one():
    """Rate 2 gives speed 2.0; rate 0.5 gives speed 1.0 (natural_reach never assumes less than 1x)."""
    _, player = playing_player()
    player.rate(2.0, t=T0 + 1)
    player.progress(2.0, t=T0 + 1.5)
    assert player.quiet_window()[2] == 2.0
    player.rate(0.5, t=T0 + 2)
    player.progress(2.25, t=T0 + 2.5)
    assert player.quiet_window()[2] == 1.0


def test_a_live_or_unknown_duration_has_no_quartile_limit():
    """Infinity (live) or no duration: the limit is the largest valid position, nothing else changes."""
    for duration in (float("inf"), None):
        _, player = playing_player(duration)
        player.progress(3.0, t=T0 + 3)
        assert player.quiet_window() == (3.0, T0 + 3, 1.0, float(MAX_SECONDS), 0.0, float(MAX_TIME))


def test_in_kava_mode_the_window_ends_a_millisecond_before_the_next_view():
    """protocol="kava": VIEW at PLAY, the next after 10 s of playing: at 2.5 s the window ends at T0 + 10 - 0.001."""
    _, player = playing_player(protocol="kava")
    player.progress(2.5, t=T0 + 2.5)
    until = player.quiet_window()[5]
    assert until == T0 + 2.5 + (10.0 - 2.5) - GATE_MARGIN


def _paused(p):
    p.pause(5.0, t=T0 + 5)


def _seeking(p):
    p.seeking(30.0, t=T0 + 5)


def _buffering(p):
    p.waiting(5.0, t=T0 + 5)


def _ad(p):
    p.ad_start("midroll", t=T0 + 5)


def _resumed_elsewhere(p):
    p.pause(5.0, t=T0 + 5)
    p.playing(7.0, t=T0 + 6)


def _ended(p):
    p.ended(t=T0 + 40)


@pytest.mark.parametrize("state", [_paused, _seeking, _buffering, _ad, _resumed_elsewhere, _ended])
def test_states_where_every_timeupdate_may_matter_open_no_window(state):
    """Paused, seeking, buffering, in an ad, resumed at a new position before any timeupdate, ended: no window."""
    _, player = playing_player()
    player.progress(4.5, t=T0 + 4.5)
    state(player)
    assert player.quiet_window() is None


def test_no_window_before_playback_started():
    """Created, loaded or play requested but not playing: no window."""
    tracker = make_tracker(FakeClock())
    player = tracker.player("1_gate")
    assert player.quiet_window() is None
    player.loaded(40.0, t=T0)
    player.play_request(t=T0)
    assert player.quiet_window() is None


def test_a_clock_that_went_back_opens_no_kava_window():
    """When the session clamped a time the KAVA reporter did not, the window stays shut."""
    _, player = playing_player(protocol="kava")
    player.progress(2.0, t=T0 + 2)
    player.progress(2.25, t=T0 + 1)  # clock went back: the session keeps T0 + 2
    assert player.quiet_window() is None


# --- the rule ----------------------------------------------------------------------

WINDOW = (10.0, T0, 1.0, 20.0, ROUNDING, T0 + 100)


@pytest.mark.parametrize("last, p, t, quiet", [
    ((10.0, T0), 10.25, T0 + 0.25, True),  # natural playback
    ((10.0, T0), 10.0, T0 + 0.25, True),  # a stalled playhead
    ((10.25, T0 + 0.25), 10.2, T0 + 0.5, False),  # the playhead went back
    ((10.25, T0 + 0.25), 10.5, T0 + 0.2, False),  # the clock went back
    ((10.0, T0), 20.0 - ROUNDING, T0 + 10, False),  # reaches the quartile
    ((10.0, T0), 19.99, T0 + 10, True),  # short of it
    ((10.0, T0), 11.5, T0 + 0.25, False),  # a jump: beyond 0.25 * 1.5 + 1 s
    ((10.0, T0), 11.375, T0 + 0.25, True),  # exactly the natural reach
    ((18.0, T0 + 10), 19.0, T0 + 10.25, True),  # natural from the previous one and from p0
    ((10.0, T0 + 9.75), 11.375, T0 + 10, True),
    ((10.0, T0), 10.25, T0 + 100, False),  # a VIEW falls due
])
def test_is_quiet_holds_back_only_timeupdates_without_news(last, p, t, quiet):
    """Each clause of the rule: time and playhead forward, below the limit, before the due time, natural both ways."""
    assert is_quiet(WINDOW, last[0], last[1], p, t) is quiet


def test_a_step_natural_from_the_previous_timeupdate_but_not_from_the_anchor_is_forwarded():
    """Steps of 1.375 s every 0.25 s are each natural, but 2.75 s in 0.5 s is not: the second one reaches Python."""
    assert is_quiet(WINDOW, 10.0, T0, 11.375, T0 + 0.25)
    assert not is_quiet(WINDOW, 11.375, T0 + 0.25, 12.75, T0 + 0.5)


def test_nan_never_counts_as_quiet():
    """A NaN position or time fails every comparison: it reaches Python."""
    nan = float("nan")
    assert not is_quiet(WINDOW, 10.0, T0, nan, T0 + 0.25)
    assert not is_quiet(WINDOW, 10.0, T0, 10.25, nan)


# --- the core's part of the contract ---------------------------------------------------

def test_every_observation_first_calls_the_catch_up_hook():
    """observe (named methods), progress and tick call Player.catch_up before the session moves."""
    tracker, player = playing_player(protocol="kava")
    seen = []
    player.catch_up = lambda: seen.append(player.session.position)
    player.progress(1.0, t=T0 + 1)
    player.tick(t=T0 + 1.5)
    player.pause(2.0, t=T0 + 2)
    player.share(t=T0 + 3)
    assert seen == [0.0, 1.0, 1.0, 2.0]


def test_played_time_of_one_long_step_equals_that_of_many_small_ones_bit_for_bit():
    """Natural playback counts base + (end - start) per run, so holding timeupdates back cannot move playTimeSum by an ulp."""
    positions = [0.1, 0.30000000000000004, 0.7, 0.9999999, 1.3, 1.7000000000000002]
    many = PlaybackSession("e", rng=random.Random(1))
    one = PlaybackSession("e", rng=random.Random(1))
    for session in (many, one):
        session.observe("metadata", T0, duration=10.0)
        session.observe("playing", T0, position=0.0)
    for i, position in enumerate(positions):
        many.observe("progress", T0 + 0.25 * (i + 1), position=position)
    one.observe("progress", T0 + 0.25 * len(positions), position=positions[-1])
    assert many.played_time == one.played_time == 1.7000000000000002


def _playback(seconds, duration, **options):
    """Natural playback at 4 timeupdates a second, gated and not; returns the
    gate and the records of both runs."""
    tracker, player = playing_player(duration, **options)
    gate = SimGate(player)
    for i in range(1, int(seconds * 4) + 1):
        gate.timeupdate(0.25 * i, T0 + 0.25 * i)
    gate.catch_up()
    plain, player = playing_player(duration, **options)
    for i in range(1, int(seconds * 4) + 1):
        player.progress(0.25 * i, t=T0 + 0.25 * i)
    return gate, tracker.queued(), plain.queued()


def test_a_full_guide_playback_reaches_python_only_at_the_quartiles():
    """40 s at 4 Hz: 160 timeupdates, of which Python sees the first (to open the window) and one per quartile."""
    gate, records, plain = _playback(40, 40.0)
    assert (gate.seen, gate.forwarded) == (160, 6)
    assert [r["e"] for r in records] == [1, 2, 3, 4, 5, 6, 7]
    assert records == plain


def test_a_full_kava_playback_reaches_python_at_the_quartiles_and_the_views():
    """protocol="kava", 50 s: Python sees the first timeupdate, the five quartiles and the VIEWs at 10, 20, 30 and 40 s (50 s is 100%)."""
    gate, records, plain = _playback(50, 50.0, protocol="kava")
    assert (gate.seen, gate.forwarded) == (200, 10)
    assert [r["e"] for r in records].count(99) == 6  # at PLAY, then every 10 s
    assert records == plain


def _state(player):
    """The state machine's and the KAVA reporter's fields, floats exact (repr)."""
    session = {k: v for k, v in vars(player.session).items() if k not in ("_rng", "_diag", "_out")}
    session["quartiles"] = vars(player.session.quartiles)
    kava = None
    if player.kava is not None:
        kava = {k: v for k, v in vars(player.kava).items() if k not in ("tracker", "player")}
    return repr((sorted(session.items()), sorted(kava.items()) if kava else None))


def _run_both(calls, options):
    """Run ``calls`` on two trackers, one with every timeupdate, one through SimGate;
    returns both (events, records, diagnostics, outcomes) and the gate."""
    results = []
    gate = None
    for gated in (False, True):
        events = []
        tracker = make_tracker(FakeClock(), on_event=events.append, **options)
        player = tracker.player("1_gate", ready=False)
        if gated:
            gate = SimGate(player)
        outcomes = []
        for method, args, t in calls:
            try:
                if method == "timeupdate" and gated:
                    gate.timeupdate(args[0], t)
                elif method == "timeupdate":
                    player.progress(args[0], t=t)
                else:
                    getattr(player, method)(*args, t=t)
                outcomes.append(None)
            except (TypeError, ValueError) as exc:
                outcomes.append(type(exc).__name__)
        if gated:
            gate.catch_up()  # what detach() does: the held timeupdate reaches Python
        results.append((json.dumps(events, sort_keys=True), json.dumps(tracker.queued(), sort_keys=True),
                        json.dumps(tracker.diagnostics, sort_keys=True, default=repr), outcomes,
                        _state(player)))
    return results, gate


# --- the property -----------------------------------------------------------------------

# per-step deviation from the rate: a little either way, or fast (up to the natural reach, then beyond)
JITTER = st.one_of(st.floats(-0.05, 0.05), st.floats(-0.05, 0.05), st.floats(0.5, 1.2))
DT = st.one_of(st.floats(0.2, 0.3), st.floats(0.2, 0.3), st.just(0.0), st.floats(0.3, 16.0),
               st.floats(-0.6, 0.0))
# what the element does between two other events: plays, stands still, or moves its playhead
PLAYBACK = st.one_of(
    st.tuples(st.just("run"), st.integers(1, 40), st.floats(0.2, 0.3), JITTER),  # natural playback
    st.tuples(st.just("stall"), st.integers(1, 6), st.floats(0.2, 0.3)),  # the playhead stands still
    st.tuples(st.just("tu"), st.one_of(st.floats(-3, 3), st.floats(-40, 40), st.just(0.0)), DT),
)
EVENTS = st.one_of(
    st.tuples(st.just("jump_then_seek"), st.floats(-30, 30), DT),  # timeupdate first, then seeking
    st.tuples(st.just("seek"), st.floats(0, 45), DT),
    st.tuples(st.just("seek_slow"), st.floats(0, 45), st.integers(0, 4)),  # timeupdates between seeking and seeked
    st.tuples(st.just("rate"), st.sampled_from([0.5, 1.0, 1.5, 2.0, 4.0]), DT),
    st.tuples(st.just("pause"), st.none(), DT),
    st.tuples(st.just("resume"), st.none(), DT),
    st.tuples(st.just("waiting"), st.none(), DT),
    st.tuples(st.just("ended"), st.none(), DT),
    st.tuples(st.just("replay"), st.none(), DT),
    st.tuples(st.just("ad"), st.none(), DT),
    st.tuples(st.just("tick"), st.none(), st.floats(0.0, 12.0)),
    st.tuples(st.just("share"), st.none(), DT),
    st.tuples(st.just("metadata"), st.sampled_from([40.0, 12.5, float("inf"), float("nan")]), DT),
)
# an event, then what the element does until the next one
STEPS = st.lists(st.tuples(EVENTS, PLAYBACK, PLAYBACK), max_size=10).map(
    lambda groups: [step for group in groups for step in group])
STARTS = st.sampled_from([40.0, 12.5, 7.3, float("inf")])


def _calls(duration, steps):
    """The observations a media element would cause for ``steps``: (method, args, t)."""
    offset, position, rate = 0.0, 0.0, 1.0
    calls = [("ready", (), T0), ("loaded", (duration,), T0), ("play_request", (), T0), ("playing", (0.0,), T0)]

    def at(dt):
        nonlocal offset
        offset += dt
        return T0 + offset

    for step in steps:
        kind, value, extra = step[:3]
        if kind == "run":  # timeupdates every ``extra`` seconds at the rate, off by ``step[3]`` each
            for _ in range(value):
                position = max(0.0, position + extra * rate + step[3])
                calls.append(("timeupdate", (position,), at(extra)))
        elif kind == "stall":
            for _ in range(value):
                calls.append(("timeupdate", (position,), at(extra)))
        elif kind == "seek_slow":
            position = value
            calls.append(("seeking", (position,), at(0.1)))
            calls += [("timeupdate", (position,), at(0.25)) for _ in range(extra)]
            calls.append(("seeked", (position,), at(0.1)))
        elif kind == "tu":
            position = max(0.0, position + value)
            calls.append(("timeupdate", (position,), at(extra)))
        elif kind == "jump_then_seek":
            position = max(0.0, position + value)
            t = at(extra)
            calls += [("timeupdate", (position,), t), ("seeking", (position,), t), ("seeked", (position,), t)]
        elif kind == "seek":
            position = value
            t = at(extra)
            calls += [("seeking", (position,), t), ("seeked", (position,), t + 0.05)]
            offset += 0.05
        elif kind == "rate":
            rate = value
            calls.append(("rate", (value,), at(extra)))
        elif kind == "pause":
            calls.append(("pause", (position,), at(extra)))
        elif kind == "resume":
            calls += [("play_request", (), at(extra)), ("playing", (position,), at(0.0))]
        elif kind == "waiting":
            calls.append(("waiting", (position,), at(extra)))
        elif kind == "ended":
            calls.append(("ended", (), at(extra)))
        elif kind == "replay":
            position = 0.0
            calls += [("play_request", (), at(extra)), ("playing", (0.0,), at(0.0))]
        elif kind == "ad":
            calls += [("ad_start", ("midroll",), at(extra)), ("ad_end", (), at(5.0))]
        elif kind == "tick":
            calls.append(("tick", (), at(extra)))
        elif kind == "share":
            calls.append(("share", (), at(extra)))
        elif kind == "metadata":
            calls.append(("loaded", (value,), at(extra)))
    return calls


@pytest.mark.parametrize("options", [{}, {"quartiles": "kava"}, {"protocol": "kava"},
                                     {"protocol": "both", "quartiles": "kava"}],
                         ids=["guide", "guide-kava-rule", "kava", "both-kava-rule"])
@SETTINGS
@given(duration=STARTS, steps=st.tuples(PLAYBACK, STEPS).map(lambda x: [x[0]] + x[1]))
def test_the_gate_never_changes_what_is_reported(options, duration, steps):
    """Any observation sequence: the same events, records, diagnostics and raised errors with the gate's filtering as without it."""
    calls = _calls(duration, steps)
    (plain, gated), _ = _run_both(calls, options)
    assert gated[0] == plain[0], "events differ"
    assert gated[1] == plain[1], "records differ"
    assert gated[2] == plain[2], "diagnostics differ"
    assert gated[3] == plain[3], "outcomes differ"
    assert gated[4] == plain[4], "state differs"


# --- the JavaScript gate computes the same rule ---------------------------------------------

NODE = shutil.which("node")
PARITY_JS = """
const quiet = %s;
const cases = JSON.parse(require("fs").readFileSync(0, "utf8"));
process.stdout.write(JSON.stringify(cases.map(([w, lp, lt, p, t]) => quiet(
  {p0: w[0], t0: w[1], speed: w[2], limit: w[3], rounding: w[4], until: w[5], lastP: lp, lastT: lt}, p, t))));
"""


@pytest.mark.skipif(NODE is None, reason="Node.js is part of `make setup` (the MicroPython vectors need it)")
def test_the_javascript_rule_decides_exactly_as_is_quiet():
    """gate.py's JavaScript rule, run in Node on 4,000 windows and timeupdates near every boundary, agrees with quartiles.is_quiet on each."""
    rng = random.Random(12)
    cases = []
    for _ in range(4000):
        p0, t0 = rng.uniform(0, 50), T0 + rng.uniform(0, 1000)
        speed = rng.choice([1.0, 1.5, 2.0, 4.0])
        limit = p0 + rng.choice([0.0, 1e-9, rng.uniform(0, 3), rng.uniform(3, 20), rng.uniform(3, 20)])
        until = t0 + rng.choice([0.0, rng.uniform(0, 12), rng.uniform(12, 100), rng.uniform(12, 100)])
        lp, lt = p0 + rng.choice([0.0, rng.uniform(0, 1)]), t0 + rng.choice([0.0, rng.uniform(0, 1)])
        dt = rng.choice([0.0, 0.25, rng.uniform(-0.1, 3)])
        reach = dt * speed * 1.5 + 1.0
        p = lp + rng.choice([0.0, reach, reach + 1e-12, rng.uniform(-0.2, reach + 0.5), limit - lp - 1e-9])
        window = [p0, t0, speed, limit, rng.choice([0.0, ROUNDING]), until]
        cases.append([window, lp, lt, p, lt + dt])
    out = subprocess.run([NODE, "-e", PARITY_JS % QUIET_JS], input=json.dumps(cases), capture_output=True,
                         text=True, check=True, timeout=60).stdout
    expected = [is_quiet(*case) for case in cases]
    assert json.loads(out) == expected
    assert 600 < sum(expected) < 3400  # both answers are well represented
