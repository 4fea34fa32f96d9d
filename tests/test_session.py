"""Unit tests of the playback-session state machine (kaltura_web/core/session.py)
and its quartile rule (kaltura_web/core/quartiles.py), fed observations directly.

The expected transitions below are written out from the rules, not read from
the module's table, so a change to the table has to be a change to this spec.
"""

import ast
import inspect
import random

import pytest

from kaltura_web.core import diagnostics as diag
from kaltura_web.core import session as session_module
from kaltura_web.core.quartiles import ROUNDING, Quartiles, natural_reach
from kaltura_web.core.session import TABLE, TRANSITIONS, Event, PlaybackSession
from kaltura_web.core.validation import MAX_SECONDS

NAN, INF = float("nan"), float("inf")
STATES = ("created", "ready", "loaded", "playing", "paused", "ended", "closed")
# observations that load the media first when it is not loaded yet
LOADING = ("metadata", "play_request", "captions", "flavor", "source", "share", "download", "report",
           "related", "ad_start", "bumper", "bumper_click", "fullscreen")
STAYING = ("seeking", "seeked", "waiting", "progress", "error", "rate", "ad_progress", "ad_click", "ad_end",
           "sound", "visibility")
# observations allowed only once playback started, where they keep the state
AFTER_PLAY = ("played_ranges",)
OBSERVATIONS = ("ready", "playing", "pause", "ended", "close") + LOADING + STAYING + AFTER_PLAY
# valid data for the observations that need some
DATA = {"progress": {"position": 1.0}, "rate": {"rate": 2}, "ad_progress": {"position": 1.0, "ad_duration": 4},
        "ad_start": {"slot": "midroll"}, "bumper": {"slot": "pre"}, "fullscreen": {"on": True},
        "sound": {"on": False}, "visibility": {"visible": True}, "played_ranges": {"ranges": [[0, 1.0]]}}
# observations that bring a new session into each state
REACH = {"created": [], "ready": [("ready", {})], "loaded": [("metadata", {"duration": 8})],
         "playing": [("metadata", {"duration": 8}), ("playing", {})],
         "paused": [("metadata", {"duration": 8}), ("playing", {}), ("pause", {})],
         "ended": [("metadata", {"duration": 8}), ("playing", {}), ("ended", {})],
         "closed": [("close", {})]}


def expected_state(state, kind):
    """The spec: the state after ``kind`` in ``state`` (None: not allowed)."""
    if state == "closed" or (kind == "ready" and state not in ("created", "ready")):
        return None
    moves = {"close": "closed", "ended": "ended", "playing": "playing"}
    if kind in moves:
        return moves[kind]
    if kind == "ready":
        return "ready"
    if kind in AFTER_PLAY:
        return state if state in ("playing", "paused", "ended") else None
    if state in ("created", "ready") and kind in LOADING:
        return "loaded"
    if (state, kind) in (("playing", "pause"), ("ended", "play_request")):
        return {"pause": "paused", "play_request": "loaded"}[kind]
    return state


class Recorder:
    """Collects the diagnostics a session reports."""

    def __init__(self):
        self.entries = []

    def __call__(self, code, message, details):
        self.entries.append((code, message, details))

    def codes(self):
        return [code for code, _, _ in self.entries]


def make(*steps):
    """A session (with its diagnostics recorder) after the given (kind, data) steps, one second apart."""
    recorder = Recorder()
    session = PlaybackSession("1_entry", random.Random(7), recorder)
    for i, (kind, data) in enumerate(steps):
        session.observe(kind, float(i), **data)
    return session, recorder


def playing(duration=8.0, position=0.0):
    """A session playing since t=1 from ``position``."""
    session, recorder = make(("metadata", {"duration": duration}), ("playing", {"position": position}))
    return session, recorder


def names(events):
    return [e.name for e in events]


# --- the table decides --------------------------------------------------------

def test_states_have_stable_names():
    """The states a session reports are the documented names, starting at created."""
    assert set(TRANSITIONS) == set(STATES)
    assert make()[0].state == "created"


def test_the_table_lists_every_observation():
    """Every observation kind has one row with one cell per open state."""
    assert set(TABLE) == set(OBSERVATIONS)
    assert all(len(row) == len(session_module.COLUMNS) for row in TABLE.values())


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("kind", OBSERVATIONS)
def test_each_observation_leads_where_the_spec_says(state, kind):
    """From every state, every observation leads to the state the rules give, or is reported as not allowed."""
    session, recorder = make(*REACH[state])
    assert session.state == state
    before = len(recorder.entries)
    events = session.observe(kind, 10.0, **DATA.get(kind, {}))
    want = expected_state(state, kind)
    if want is None:
        assert events == [] and session.state == state
        assert recorder.entries[before:] == [(diag.OBSERVATION_NOT_ALLOWED, recorder.entries[before][1],
                                              {"observation": kind, "state": state,
                                               "entryId": "1_entry", "sessionId": session.session_id})]
    else:
        assert session.state == want
        assert diag.OBSERVATION_NOT_ALLOWED not in recorder.codes()


def test_only_the_transition_step_sets_the_state():
    """No handler assigns the state: only the constructor and the one change step do."""
    tree = ast.parse(inspect.getsource(session_module))
    setters = set()
    for func in ast.walk(tree):
        if isinstance(func, ast.FunctionDef):
            for node in ast.walk(func):
                targets = node.targets if isinstance(node, ast.Assign) else []
                if any(isinstance(t, ast.Attribute) and t.attr == "state" for t in targets):
                    setters.add(func.name)
    assert setters == {"__init__", "_change"}


@pytest.mark.parametrize("steps, kind, data, want", [
    ([], "ended", {}, ["WIDGET_LOADED", "MEDIA_LOADED", "ENDED"]),
    ([], "captions", {}, ["WIDGET_LOADED", "MEDIA_LOADED", "CAPTIONS"]),
    ([], "ready", {}, ["WIDGET_LOADED"]),
    ([("ready", {})], "ended", {}, ["MEDIA_LOADED", "ENDED"]),
    ([("ready", {})], "playing", {}, ["MEDIA_LOADED", "PLAY_REQUEST", "PLAY", "FIRST_PLAY"]),
    ([("ready", {})], "bumper_click", {}, ["MEDIA_LOADED", "BUMPER_CLICKED"]),
    ([("ready", {})], "ready", {}, []),
    (REACH["playing"], "pause", {}, ["PAUSE"]),
    (REACH["paused"], "playing", {}, ["RESUME"]),
    (REACH["ended"], "play_request", {}, ["REPLAY", "PLAY_REQUEST"]),
    (REACH["ended"], "playing", {}, ["REPLAY", "PLAY_REQUEST", "PLAY"]),
    (REACH["loaded"], "ad_start", {"slot": "postroll"}, ["POSTROLL_STARTED"]),
])
def test_a_change_of_state_brings_its_own_events_first(steps, kind, data, want):
    """The events a change of state means (lifecycle, PAUSE, RESUME, REPLAY) come before the observation's own."""
    session, _ = make(*steps)
    assert names(session.observe(kind, 10.0, **data)) == want


def test_the_fullscreen_guard_decides_whether_the_media_loads():
    """Fullscreen that changes nothing leaves a created session created; a real change loads the media first."""
    session, _ = make()
    assert session.observe("fullscreen", 1.0, on=False) == []
    assert session.state == "created"
    assert names(session.observe("fullscreen", 2.0, on=True)) == ["WIDGET_LOADED", "MEDIA_LOADED", "ENTER_FULLSCREEN"]
    assert session.state == "loaded"
    assert names(session.observe("fullscreen", 3.0, on=True)) == []
    assert names(session.observe("fullscreen", 4.0, on=False)) == ["EXIT_FULLSCREEN"]


# --- the caller's mistakes raise, nonsense values are reported ------------------

@pytest.mark.parametrize("t", ["1", None, True, [1]])
def test_a_time_that_is_not_a_number_raises_type_error(t):
    """The observation time must be an int or float (not a bool)."""
    session, _ = make()
    with pytest.raises(TypeError):
        session.observe("ready", t)


@pytest.mark.parametrize("steps", [[], REACH["closed"]])
def test_an_unknown_observation_raises_value_error_in_any_state(steps):
    """An observation kind that does not exist is the caller's mistake, even after close."""
    session, _ = make(*steps)
    with pytest.raises(ValueError):
        session.observe("explode", 5.0)


@pytest.mark.parametrize("kind, data, error", [
    ("progress", {}, TypeError),
    ("rate", {}, TypeError),
    ("ad_progress", {"position": 1.0}, TypeError),
    ("ad_progress", {"ad_duration": 4}, TypeError),
    ("ad_start", {}, ValueError),
    ("ad_start", {"slot": "banner"}, ValueError),
    ("bumper", {}, ValueError),
    ("bumper", {"slot": "middle"}, ValueError),
    ("playing", {"position": "1"}, TypeError),
    ("metadata", {"duration": "8"}, TypeError),
    ("rate", {"rate": "2"}, TypeError),
    ("ad_progress", {"position": 1.0, "ad_duration": "4"}, TypeError),
    ("seeking", {"position": True}, TypeError),
])
@pytest.mark.parametrize("steps", [[], REACH["closed"]])
def test_missing_or_mistyped_arguments_raise_before_anything_changes(kind, data, error, steps):
    """A missing or mistyped argument raises the exact exception and leaves the session as it was."""
    session, recorder = make(*steps)
    state, last_t = session.state, session.last_t
    with pytest.raises(error):
        session.observe(kind, 50.0, **data)
    assert (session.state, session.last_t, recorder.entries) == (state, last_t, [] if not steps else [])


def test_a_nan_time_is_dropped_and_reported():
    """An observation whose time is NaN changes nothing and is reported as non-finite-time."""
    session, recorder = make()
    assert session.observe("metadata", NAN, duration=8) == []
    assert (session.state, session.duration, session.last_t) == ("created", None, None)
    assert recorder.codes() == [diag.NON_FINITE_TIME]
    assert recorder.entries[0][2]["observation"] == "metadata"


@pytest.mark.parametrize("position", [-1, -0.5, NAN, INF, -INF, MAX_SECONDS + 1, 1e300])
def test_a_nonsense_position_is_dropped_and_reported(position):
    """NaN, negative, infinite or absurdly large positions drop the observation with invalid-position."""
    session, recorder = playing()
    last_t = session.last_t
    assert session.observe("seeking", 5.0, position=position) == []
    assert (session.position, session.seeking, session.last_t) == (0.0, False, last_t)
    assert recorder.codes() == [diag.INVALID_POSITION]
    assert recorder.entries[0][2]["observation"] == "seeking"


@pytest.mark.parametrize("position", [0, 0.0, 3, MAX_SECONDS])
def test_positions_up_to_the_limit_are_taken_as_floats(position):
    """Any position from 0 to the largest a beacon carries is used, as a float."""
    session, recorder = playing()
    events = session.observe("seeking", 5.0, position=position)
    assert names(events) == ["SEEK"]
    assert events[0].position == position and type(events[0].position) is float
    assert recorder.entries == []


def test_time_going_backwards_uses_the_previous_time():
    """An observation earlier than the last one is reported and stamped with the last time; an equal time is fine."""
    session, recorder = make(("ready", {}), ("metadata", {"duration": 8}))
    assert session.observe("playing", 1.0)[0].t == 1.0
    assert recorder.entries == []
    events = session.observe("pause", 0.25)
    assert [e.t for e in events] == [1.0]
    assert recorder.entries == [(diag.CLOCK_BACKWARDS, recorder.entries[0][1],
                                 {"t": 0.25, "last": 1.0, "entryId": "1_entry", "sessionId": session.session_id})]


def test_a_session_without_diagnostics_drops_nonsense_quietly():
    """Without a diagnostics callback, nonsense is still dropped and nothing raises."""
    session = PlaybackSession("1_entry", random.Random(7))
    assert session.observe("ready", NAN) == []
    assert session.observe("seeking", 1.0, position=-1) == []
    assert names(session.observe("ready", 2.0)) == ["WIDGET_LOADED"]


# --- durations ----------------------------------------------------------------

@pytest.mark.parametrize("duration, adopted", [(0, 0), (8, 8), (MAX_SECONDS, MAX_SECONDS), (INF, INF), (None, None)])
def test_usable_durations_are_adopted_without_a_diagnostic(duration, adopted):
    """Zero, finite, the largest allowed, Infinity (live) and unknown durations are adopted silently."""
    session, recorder = make(("metadata", {"duration": duration}))
    assert session.duration == adopted and recorder.entries == []


@pytest.mark.parametrize("duration", [NAN, -1, -INF, MAX_SECONDS + 1])
def test_nonsense_durations_mean_unknown(duration):
    """NaN, negative or huge durations are reported as invalid-duration and treated as unknown."""
    session, recorder = make(("metadata", {"duration": duration}))
    assert session.duration is None
    assert recorder.codes() == [diag.INVALID_DURATION]


def test_the_duration_is_kept_after_play_and_a_change_reported():
    """After PLAY a different duration is reported (with both values) and the first one kept; the same one is fine."""
    session, recorder = playing(duration=8.0)
    session.observe("metadata", 2.0, duration=8.0)
    assert recorder.entries == []
    session.observe("metadata", 3.0, duration=12.0)
    assert session.duration == 8.0
    assert recorder.entries[0][0] == diag.DURATION_CHANGED
    assert recorder.entries[0][2]["adopted"] == 8.0 and recorder.entries[0][2]["reported"] == 12.0


def test_a_live_session_adopts_a_duration_that_comes_later():
    """A session that started playing live takes a real duration reported later (its quartiles then count)."""
    session, recorder = playing(duration=INF)
    session.observe("metadata", 2.0, duration=8.0)
    assert session.duration == 8.0 and recorder.entries == []
    assert names(session.observe("progress", 2.5, position=2.0)) == ["PLAY_REACHED_25"]


def test_live_events_carry_no_duration():
    """Events of a session with an unknown or live duration have no duration."""
    session, _ = make(("metadata", {"duration": 0}))
    assert [e.duration for e in session.observe("playing", 3.0)] == [None, None, None]


# --- playhead, quartiles and the natural-playback rule --------------------------

def test_natural_reach_scales_with_the_rate_but_never_below_1x():
    """Natural playback may move elapsed * max(rate, 1) * 1.5 + 1 seconds."""
    assert natural_reach(2.0, 1.0) == 4.0
    assert natural_reach(2.0, 2.0) == 7.0
    assert natural_reach(2.0, 0.5) == 4.0
    assert natural_reach(0.0, 3.0) == 1.0


@pytest.mark.parametrize("rate, moved, natural", [(1.0, 4.0, True), (1.0, 4.5, False), (2.0, 7.0, True),
                                                   (2.0, 7.5, False), (0.5, 4.0, True)])
def test_a_move_within_the_natural_reach_fires_quartiles(rate, moved, natural):
    """Exactly the natural reach still fires the quartiles crossed; any further is an unexplained jump."""
    quartiles = Quartiles()
    quartiles.jump(0.0, 10.0)
    crossed = quartiles.advance(moved, 12.0, rate, 16.0)
    assert crossed == (["PLAY_REACHED_25"] if natural else None)
    assert quartiles.start == (moved, 12.0)


def test_the_first_advance_only_sets_the_start():
    """Before any known position, advancing fires nothing and becomes the starting point."""
    quartiles = Quartiles()
    assert quartiles.advance(5.0, 3.0, 1.0, 8.0) == []
    assert quartiles.start == (5.0, 3.0)
    assert quartiles.advance(6.0, 4.0, 1.0, 8.0) == ["PLAY_REACHED_75"]


def test_moving_back_fires_nothing_and_is_no_jump():
    """A backwards move is a new starting point, not an unexplained jump."""
    quartiles = Quartiles()
    quartiles.jump(5.0, 1.0)
    assert quartiles.advance(1.0, 2.0, 1.0, 8.0) == []
    assert quartiles.start == (1.0, 2.0)
    assert quartiles.advance(2.0, 3.0, 1.0, 8.0) == ["PLAY_REACHED_25"]


def test_live_durations_never_fire_quartiles():
    """Unknown, zero, NaN or infinite durations fire no quartile and move the start."""
    for duration in (None, 0, NAN, INF, -3):
        quartiles = Quartiles()
        quartiles.jump(0.0, 0.0)
        assert quartiles.advance(1.0, 1.0, 1.0, duration) == []
        assert quartiles.start == (1.0, 1.0)


def test_a_point_reached_within_float_rounding_fires():
    """A position a rounding error below a quartile point has reached it; a real gap has not."""
    duration = 10.3
    point = duration * 0.75
    quartiles = Quartiles()
    quartiles.jump(7.0, 0.0)
    assert quartiles.advance(point - 1e-6, 0.5, 1.0, duration) == []
    assert quartiles.advance(point - 5e-10, 0.6, 1.0, duration) == ["PLAY_REACHED_75"]
    quartiles.jump(1.0, 1.0)
    assert quartiles.advance(2.0 - ROUNDING, 1.5, 1.0, 8.0) == ["PLAY_REACHED_25"]


def test_short_media_has_quartiles():
    """Media shorter than a second still has quartiles."""
    quartiles = Quartiles()
    quartiles.jump(0.0, 0.0)
    assert quartiles.advance(0.5, 0.5, 1.0, 0.5) == ["PLAY_REACHED_25", "PLAY_REACHED_50", "PLAY_REACHED_75",
                                                     "PLAY_REACHED_90", "PLAY_REACHED_100"]


def test_several_quartiles_fire_in_order_once_each():
    """Crossing several points fires each in order, and never again."""
    quartiles = Quartiles()
    quartiles.jump(1.0, 0.0)
    assert quartiles.advance(8.0, 5.0, 1.0, 8.0) == ["PLAY_REACHED_25", "PLAY_REACHED_50", "PLAY_REACHED_75",
                                                     "PLAY_REACHED_90", "PLAY_REACHED_100"]
    quartiles.jump(0.0, 6.0)
    assert quartiles.advance(8.0, 12.0, 1.0, 8.0) == []


def test_an_unexplained_jump_is_reported_with_its_position():
    """A playhead jump no seek explains is reported as unexplained-jump and fires nothing."""
    session, recorder = playing()
    assert session.observe("progress", 1.5, position=6.0) == []
    assert recorder.codes() == [diag.UNEXPLAINED_JUMP]
    assert recorder.entries[0][2]["position"] == 6.0
    assert session.position == 6.0


def test_progress_outside_playback_moves_the_playhead_only():
    """Progress while paused or seeking moves the playhead and the quartile start, firing nothing."""
    session, _ = playing()
    session.observe("pause", 2.0)
    assert session.observe("progress", 10.0, position=3.0) == []
    assert session.position == 3.0
    assert session.observe("playing", 11.0)[0].position == 3.0  # RESUME where the playhead is
    assert session.observe("progress", 11.5, position=3.5) == []
    session.observe("seeking", 12.0, position=5.0)
    assert session.observe("progress", 30.0, position=1.5) == []
    assert session.position == 1.5
    session.observe("seeked", 30.0)
    assert names(session.observe("progress", 30.5, position=2.0)) == ["PLAY_REACHED_25"]


def test_progress_during_an_ad_is_ignored():
    """Content progress while an ad plays changes nothing."""
    session, _ = playing()
    session.observe("ad_start", 2.0, slot="midroll")
    assert session.observe("progress", 3.0, position=4.0) == []
    assert session.position == 0.0


def test_the_end_of_an_ad_restarts_the_natural_playback_clock():
    """Time spent in an ad does not let a later jump pass for natural playback."""
    session, recorder = playing()
    session.observe("ad_start", 2.0, slot="midroll")
    session.observe("ad_end", 20.0)
    assert session.observe("progress", 20.5, position=6.0) == []
    assert recorder.codes() == [diag.UNEXPLAINED_JUMP]


@pytest.mark.parametrize("kind", ["playing", "pause", "waiting"])
def test_playing_pause_and_waiting_move_the_playhead_when_given_a_position(kind):
    """playing, pause and waiting take their position before anything else; without one the playhead stays."""
    session, _ = playing(position=2.0)
    session.observe(kind, 2.0)
    assert session.position == 2.0
    events = session.observe(kind, 3.0, position=5.0)
    assert session.position == 5.0
    assert all(e.position == 5.0 for e in events)


# --- seeks --------------------------------------------------------------------

def test_one_seek_sends_one_seek_event():
    """seeking, seeking again and seeked make one SEEK, at the first target."""
    session, _ = playing()
    events = session.observe("seeking", 2.0, position=5.0)
    assert names(events) == ["SEEK"] and events[0].data == {"target": 5.0}
    assert session.observe("seeking", 2.1, position=6.0) == []
    assert session.observe("seeked", 2.2, position=6.0) == []
    assert (session.seeking, session.position) == (False, 6.0)


def test_a_seeked_alone_is_a_seek():
    """A seeked with no seeking before it sends SEEK at its position and moves the quartile start."""
    session, _ = playing()
    events = session.observe("seeked", 5.0, position=3.0)
    assert names(events) == ["SEEK"] and events[0].position == 3.0
    assert session.observe("progress", 5.5, position=3.5) == []
    assert names(session.observe("progress", 6.0, position=4.0)) == ["PLAY_REACHED_50"]


@pytest.mark.parametrize("steps", [[("metadata", {"duration": 8})], REACH["ended"]])
def test_seeks_before_play_or_after_end_send_nothing(steps):
    """Before PLAY or after ENDED a seek only moves the playhead."""
    session, _ = make(*steps)
    assert session.observe("seeking", 10.0, position=3.0) == []
    assert session.observe("seeked", 10.0, position=4.0) == []
    assert session.observe("seeked", 10.0, position=5.0) == []
    assert session.position == 5.0 and session.seeking is False


# --- buffering ------------------------------------------------------------------

def test_buffering_pairs_start_and_end():
    """waiting starts one buffer while playing; it ends when the playhead moves on, not before."""
    session, _ = playing()
    assert names(session.observe("waiting", 2.0)) == ["BUFFER_START"]
    assert session.observe("waiting", 2.5) == []
    assert session.observe("progress", 3.0, position=0.0) == []
    assert names(session.observe("progress", 3.5, position=0.5)) == ["BUFFER_END"]
    assert session.buffering is False


@pytest.mark.parametrize("kind, data, want", [
    ("pause", {}, ["BUFFER_END", "PAUSE"]),
    ("ended", {}, ["BUFFER_END", "PLAY_REACHED_25", "PLAY_REACHED_50", "PLAY_REACHED_75", "PLAY_REACHED_90",
                   "PLAY_REACHED_100", "ENDED"]),
    ("close", {}, ["BUFFER_END"]),
    ("error", {"code": 3}, ["BUFFER_END", "ERROR"]),
    ("seeking", {"position": 4.0}, ["BUFFER_END", "SEEK"]),
    ("seeked", {"position": 4.0}, ["BUFFER_END", "SEEK"]),
    ("playing", {}, ["BUFFER_END"]),
])
def test_an_open_buffer_is_closed_first(kind, data, want):
    """Leaving playback, an error, a seek or playing again closes an open buffer before its own events."""
    session, _ = playing(duration=2.0)
    session.observe("waiting", 1.5)
    assert names(session.observe(kind, 2.0, **data)) == want
    assert session.buffering is False


@pytest.mark.parametrize("steps", [REACH["paused"], REACH["loaded"], REACH["ended"]])
def test_no_buffering_outside_playback(steps):
    """waiting outside PLAYING starts no buffer."""
    session, _ = make(*steps)
    assert session.observe("waiting", 10.0) == [] and session.buffering is False


def test_no_buffering_while_seeking():
    """waiting during a seek is the seek, not a buffer."""
    session, _ = playing()
    session.observe("seeking", 2.0, position=3.0)
    assert session.observe("waiting", 2.5) == []


# --- play, replay, end -------------------------------------------------------------

def test_play_request_is_sent_once_per_session():
    """PLAY_REQUEST once, whether asked for or implied by playing."""
    session, _ = make(("metadata", {"duration": 8}))
    assert names(session.observe("play_request", 1.0)) == ["PLAY_REQUEST"]
    assert session.observe("play_request", 1.5) == []
    assert names(session.observe("playing", 2.0)) == ["PLAY", "FIRST_PLAY"]
    assert session.observe("playing", 2.5) == []


def test_a_replay_is_a_new_session_from_zero():
    """A replay gets a new session id, REPLAY at 0, PLAY_REQUEST and PLAY again, but no second FIRST_PLAY."""
    session, _ = playing(duration=4.0)
    session.observe("progress", 1.5, position=1.0)
    first = session.session_id
    session.observe("ended", 5.0)
    events = session.observe("playing", 6.0)
    assert names(events) == ["REPLAY", "PLAY_REQUEST", "PLAY"]
    assert {e.session_id for e in events} == {session.session_id} and session.session_id != first
    assert [e.position for e in events] == [0.0, 0.0, 0.0]
    assert names(session.observe("progress", 6.5, position=1.0)) == ["PLAY_REACHED_25"]


def test_ended_closes_a_seek_in_progress():
    """Content ending during a seek fires no quartile and ends the seek."""
    session, _ = playing()
    session.observe("seeking", 2.0, position=7.0)
    assert names(session.observe("ended", 2.5)) == ["ENDED"]
    assert session.seeking is False
    assert names(session.observe("ended", 3.0)) == ["PLAY_REACHED_90", "PLAY_REACHED_100", "ENDED"]


def test_ended_before_play_keeps_its_position():
    """ended before PLAY fires no quartile; its position, when given, is where the playhead is."""
    session, _ = make(("metadata", {"duration": 8}))
    events = session.observe("ended", 2.0, position=3.0)
    assert names(events) == ["ENDED"] and events[0].position == 3.0


def test_ended_during_an_ad_closes_the_ad():
    """Content ending while an ad plays is reported and closes the ad."""
    session, recorder = playing(duration=2.0)
    session.observe("ad_start", 2.0, slot="preroll")
    session.observe("ended", 3.0)
    assert session.ad is None
    assert recorder.codes() == [diag.AD_OUT_OF_ORDER]
    assert recorder.entries[0][2]["observation"] == "ended"


# --- rate, ads and the events that only report themselves -----------------------------

def test_speed_is_sent_on_a_real_change_only():
    """SPEED carries the new rate as a float; the same rate again, or 1x at the start, sends nothing."""
    session, recorder = make(("metadata", {"duration": 8}))
    assert session.observe("rate", 1.0, rate=1) == []
    events = session.observe("rate", 2.0, rate=2)
    assert names(events) == ["SPEED"] and events[0].data == {"rate": 2.0} and type(session.rate) is float
    assert session.observe("rate", 3.0, rate=2.0) == []
    assert recorder.entries == []


@pytest.mark.parametrize("rate", [0, -1, NAN, INF])
def test_an_unusable_rate_is_reported_and_ignored(rate):
    """A zero, negative, NaN or infinite rate is reported as invalid-rate and changes nothing."""
    session, recorder = make(("metadata", {"duration": 8}))
    assert session.observe("rate", 1.0, rate=rate) == []
    assert session.rate == 1.0 and recorder.codes() == [diag.INVALID_RATE]


@pytest.mark.parametrize("kind", ["ad_progress", "ad_click", "ad_end"])
def test_ad_observations_without_an_ad_are_reported(kind):
    """Ad progress, click or end without an ad playing send nothing and report ad-out-of-order."""
    session, recorder = playing()
    assert session.observe(kind, 2.0, **DATA.get(kind, {})) == []
    assert recorder.codes() == [diag.AD_OUT_OF_ORDER]
    assert recorder.entries[0][2]["observation"] == kind


def test_a_second_ad_start_replaces_the_first():
    """An ad starting while another plays is reported; the new ad is the current one."""
    session, recorder = playing()
    session.observe("ad_start", 2.0, slot="preroll")
    events = session.observe("ad_start", 3.0, slot="midroll")
    assert names(events) == ["MIDROLL_STARTED"] and events[0].data == {"ad": "midroll"}
    assert recorder.codes() == [diag.AD_OUT_OF_ORDER]
    assert recorder.entries[0][2]["observation"] == "ad_start"
    click = session.observe("ad_click", 4.0)
    assert names(click) == ["MIDROLL_CLICKED"] and click[0].data == {"ad": "midroll"}


@pytest.mark.parametrize("slot, ad_duration, want", [
    ("preroll", 4, ["PREROLL_25", "PREROLL_50"]),
    ("postroll", 4, ["POSTROLL_25", "POSTROLL_50"]),
    ("overlay", 4, []),
    ("midroll", INF, []),
    ("midroll", 0, []),
])
def test_ad_quartiles(slot, ad_duration, want):
    """Ad quartiles fire at their exact points for timed ads; none for overlays or ads of unknown length."""
    session, _ = playing()
    session.observe("ad_start", 2.0, slot=slot)
    assert names(session.observe("ad_progress", 3.0, position=0.99, ad_duration=ad_duration)) == []
    events = session.observe("ad_progress", 4.0, position=2.0, ad_duration=ad_duration)
    assert names(events) == want and all(e.data == {"ad": slot} for e in events)
    assert names(session.observe("ad_progress", 5.0, position=2.5, ad_duration=ad_duration)) == []


@pytest.mark.parametrize("kind, data, name", [
    ("captions", {"language": "en"}, "CAPTIONS"),
    ("flavor", {"bitrate": 800}, "FLAVOR_SWITCH"),
    ("source", {"bitrate": 400}, "SOURCE_SELECTED"),
    ("share", {"via": "mail"}, "SHARE_CLICKED"),
    ("download", {}, "DOWNLOAD_CLICKED"),
    ("report", {"reason": "spam"}, "REPORT_CLICKED"),
    ("related", {}, "RELATED_CLICKED"),
    ("error", {"code": 3, "message": "decode"}, "ERROR"),
])
def test_reporting_observations_carry_their_data(kind, data, name):
    """Observations that only report themselves send one event with the observation's data."""
    session, _ = playing()
    events = session.observe(kind, 2.0, **data)
    assert names(events) == [name] and events[0].data == data and events[0].position == 0.0


@pytest.mark.parametrize("kind, data, name", [("bumper", {"slot": "post"}, "POST_BUMPER_PLAYED"),
                                              ("bumper_click", {"note": "x"}, "BUMPER_CLICKED")])
def test_bumper_events_carry_no_data(kind, data, name):
    """Bumper events name what happened and carry no data."""
    session, _ = playing()
    events = session.observe(kind, 2.0, **data)
    assert names(events) == [name] and events[0].data == {}


# --- events -----------------------------------------------------------------------

def test_event_as_dict_leaves_out_what_is_unknown():
    """An event's dict has name, session and time, plus position, duration and data only when known."""
    assert Event("PLAY", "s1", 5.0).as_dict() == {"name": "PLAY", "sessionId": "s1", "t": 5.0}
    full = Event("SEEK", "s1", 5.0, position=0.0, duration=8.0, data={"target": 0.0})
    assert full.as_dict() == {"name": "SEEK", "sessionId": "s1", "t": 5.0, "position": 0.0, "duration": 8.0,
                              "data": {"target": 0.0}}
    assert repr(full) == "Event(SEEK @5.0 pos=0.0)"


def test_lifecycle_events_have_no_position():
    """WIDGET_LOADED and MEDIA_LOADED carry no position; the events after them do."""
    session, _ = make()
    events = session.observe("playing", 1.0, position=2.0)
    assert [e.position for e in events] == [None, None, 2.0, 2.0, 2.0]
