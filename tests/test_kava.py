"""KAVA mode: what the conformance vectors (tests/vectors/kava.json) do not show.

The wire form of a KAVA beacon, the tracker options, the server's answer
feeding sessionStartTime and viewEventsEnabled, and the durable delivery
Player v7 lacks (a failed KAVA beacon is retried, never lost)."""

import json
import urllib.parse

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kaltura_web.core.catalog import KAVA_EVENT_TYPES
from kaltura_web.core.encoding import FORM, encode
from kaltura_web.core.kava import RESET_AFTER
from kaltura_web.core.ports import TransportError

from .fakes import T0, FakeClock, ScriptedTransport, make_tracker, sequence, sync_sender


def play(tracker, clock, seconds, duration=30.0, start=0.0):
    """Play ``seconds`` of a fresh player naturally, a timeupdate every 0.25 s."""
    player = tracker.player("1_kava")
    player.loaded(duration, t=clock.now)
    player.play(start, t=clock.now)
    position = start
    for _ in range(int(seconds * 4)):
        clock.now += 0.25
        position += 0.25
        player.progress(position, t=clock.now)
    return player


def kava_names(tracker):
    return [KAVA_EVENT_TYPES[r["e"]] for r in tracker.queued() if r.get("kv")]


def split(request):
    """(query fields, body fields) of a request."""
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(request.url).query))
    return query, dict(urllib.parse.parse_qsl(request.body))


def test_a_kava_beacon_puts_four_fields_in_the_query_string_and_the_rest_in_the_body():
    """Transport as Player v7's: eventType, partnerId, entryId and sessionId in the URL, the rest (and the KS) posted."""
    clock = FakeClock()
    tracker = make_tracker(clock, protocol="kava", user_id="viewer-1", uiconf_id=55)
    play(tracker, clock, 1)
    record = tracker.queued()[2]  # PLAY
    request = encode(record, "the-ks", tracker.service_url, tracker.analytics_url)
    query, body = split(request)
    assert request.url.startswith("http://collector.test/api_v3/index.php?")
    assert query == {"service": "analytics", "action": "trackEvent", "eventType": "3", "partnerId": "4242",
                     "entryId": "1_kava", "sessionId": record["s"]}
    assert body["ks"] == "the-ks" and body["userId"] == "viewer-1" and body["uiConfId"] == "55"
    assert body["eventIndex"] == "3" and body["playbackType"] == "vod" and body["position"] == "0"
    assert not set(query) & (set(body) - {"ks"})
    assert request.headers["Content-Type"] == FORM  # no CORS preflight, so keepalive may carry it


def test_the_ks_is_never_stored_in_a_kava_record():
    """The KS is attached at send time only: a queued KAVA record holds none."""
    clock = FakeClock()
    tracker = make_tracker(clock, protocol="kava", ks="secret-ks-value")
    play(tracker, clock, 1)
    assert "secret-ks-value" not in json.dumps(tracker.queued())


def test_kava_session_id_is_page_and_media_and_survives_a_replay():
    """KAVA's sessionId is <page id>:<media id>, shared by the page's players' page part, and a replay keeps it."""
    clock = FakeClock()
    tracker = make_tracker(clock, protocol="kava")
    first = play(tracker, clock, 2, duration=2.0)
    first.pause(t=clock.now)
    first.ended(t=clock.now)
    first.play(0.0, t=clock.now + 1)
    second = tracker.player("1_other")
    page, media = first.session_id.split(":")
    assert second.session_id.split(":")[0] == page and second.session_id.split(":")[1] != media
    assert {r["s"] for r in tracker.queued() if r["n"] == "1_kava"} == {first.session_id}
    assert "REPLAY" in kava_names(tracker)


def test_guide_mode_sends_no_kava_and_kava_mode_no_stats_collect():
    """Each protocol sends only its own beacons; "both" sends each playback in both."""
    for protocol, kinds in (("guide", {"s"}), ("kava", {"t"}), ("both", {"s", "t"})):
        clock = FakeClock()
        tracker = make_tracker(clock, protocol=protocol)
        play(tracker, clock, 2)
        assert {r["k"] for r in tracker.queued()} == kinds, protocol
        assert any(r.get("kv") for r in tracker.queued()) == ("t" in kinds)


@pytest.mark.parametrize("option, value", [("protocol", "kava2"), ("protocol", "KAVA"), ("quartiles", "v7"),
                                           ("delivery_type", "")])
def test_a_wrong_protocol_option_is_refused_at_the_call(option, value):
    """A protocol, quartile rule or delivery type that does not exist is the developer's error, raised at once."""
    with pytest.raises(ValueError):
        make_tracker(**{option: value})


def test_the_server_time_becomes_session_start_time_and_view_events_can_be_switched_off():
    """The first answer's time is sessionStartTime on later beacons; viewEventsEnabled false stops VIEW."""
    clock = FakeClock()
    tracker = make_tracker(clock, protocol="kava")
    transport = ScriptedTransport(lambda request: (200, json.dumps({"time": 1700000099, "viewEventsEnabled": False})))
    sender = sync_sender(tracker, clock, transport)
    player = play(tracker, clock, 1)
    sender.pump()
    assert tracker.pending() == 0
    position = 1.0
    for _ in range(100):
        clock.now += 0.25
        position += 0.25
        player.progress(position, t=clock.now)
    player.pause(t=clock.now)
    names = kava_names(tracker)
    assert "VIEW" not in names and names[-1] == "PAUSE"
    assert all(dict((k, v) for k, v in r["x"]).get("sessionStartTime") == 1700000099 for r in tracker.queued())


@pytest.mark.parametrize("body", ["", "<xml/>", "null", '"text"', "[1, 2]", '{"time": "soon"}', "1e400", "NaN"])
def test_an_odd_answer_changes_nothing(body):
    """An answer that is not the server's time or a dict of it is accepted and ignored: no sessionStartTime, VIEWs go on."""
    clock = FakeClock()
    tracker = make_tracker(clock, protocol="kava")
    sender = sync_sender(tracker, clock, ScriptedTransport(lambda request: (200, body)))
    player = play(tracker, clock, 1)
    sender.pump()
    assert tracker.pending() == 0 and tracker.diagnostics == []
    position = 1.0
    for _ in range(44):
        clock.now += 0.25
        position += 0.25
        player.progress(position, t=clock.now)
    views = [r for r in tracker.queued() if r["e"] == 99]
    assert len(views) == 1
    assert "sessionStartTime" not in dict((k, v) for k, v in views[0]["x"])


def test_a_failed_kava_beacon_is_retried_in_order_and_none_is_lost():
    """KAVA loses a beacon on any failure; kaltura_web keeps it queued and sends every one, in order, once accepted."""
    clock = FakeClock()
    tracker = make_tracker(clock, protocol="kava")
    failures = [TransportError("network", "offline")] * 3 + [(503, "busy")] * 2
    transport = ScriptedTransport(sequence(*failures, then=(200, '{"time": 1700000001, "viewEventsEnabled": true}')))
    sender = sync_sender(tracker, clock, transport)
    play(tracker, clock, 12)
    made = [r["i"] for r in tracker.queued()]
    for _ in range(50):
        sender.pump()
        if tracker.pending() == 0:
            break
        clock.now = max(clock.now, tracker.next_wakeup())
    assert tracker.pending() == 0, "the queue never drained"
    delivered = []
    for request in transport.requests[len(failures):]:
        delivered.append(split(request)[1]["beaconId"])
    assert delivered == made  # each once, in the order made
    indexes = [int(split(r)[1]["eventIndex"]) for r in transport.requests[len(failures):]]
    assert indexes == list(range(1, len(made) + 1))


def test_the_unload_flush_carries_kava_beacons():
    """A page going away sends its queued KAVA beacons with keepalive, like the guide's."""
    clock = FakeClock()
    tracker = make_tracker(clock, protocol="kava")
    play(tracker, clock, 1)
    requests = tracker.keepalive_requests()
    assert [split(r)[0]["eventType"] for r in requests] == [str(r["e"]) for r in tracker.queued()]


def test_tick_makes_a_due_view_without_a_media_element():
    """A server-side caller drives the VIEW clock with tick(): a VIEW after 10 s of playing, none while paused."""
    clock = FakeClock()
    tracker = make_tracker(clock, protocol="kava")
    player = tracker.player("1_kava")
    player.loaded(100.0, t=T0)
    player.play(0.0, t=T0)
    player.progress(9.0, t=T0 + 9)
    player.tick(t=T0 + 10.5)
    assert kava_names(tracker).count("VIEW") == 2  # at PLAY, and once 10 s of playing passed
    player.tick(t=T0 + 21)
    assert kava_names(tracker).count("VIEW") == 2  # due, but playTimeSum did not change: skipped
    player.progress(20.0, t=T0 + 22)
    player.tick(t=T0 + 31)
    assert kava_names(tracker).count("VIEW") == 3
    player.pause(t=T0 + 31)
    player.tick(t=T0 + 31 + RESET_AFTER - 1)
    assert kava_names(tracker)[-1] == "PAUSE"


def test_sound_and_visibility_become_sound_and_tab_mode():
    """Muted sound and a hidden tab are soundMode 1 and tabMode 1 on the next VIEW."""
    clock = FakeClock()
    tracker = make_tracker(clock, protocol="kava")
    player = tracker.player("1_kava")
    player.sound(False, t=T0)
    player.visibility(False, t=T0)
    player.loaded(100.0, t=T0)
    player.play(0.0, t=T0)
    view = dict((k, v) for k, v in tracker.queued()[-1]["x"])
    assert (view["soundMode"], view["tabMode"]) == (1, 1)
    with pytest.raises(TypeError):
        player.sound(None)


observations = st.lists(st.tuples(
    st.sampled_from(["play_request", "playing", "pause", "seeking", "seeked", "waiting", "progress", "ended",
                     "rate", "fullscreen", "error", "tick", "captions", "flavor"]),
    st.floats(min_value=0, max_value=40, allow_nan=False),
    st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.floats(min_value=0, max_value=60))),
    max_size=60)


@settings(max_examples=150, deadline=None)
@given(observations, st.sampled_from(["guide", "kava"]))
def test_any_observation_sequence_gives_a_contiguous_event_index(steps, quartiles):
    """Whatever the page reports, KAVA mode never raises and eventIndex runs 1, 2, 3... restarting only at a reset."""
    clock = FakeClock()
    tracker = make_tracker(clock, protocol="kava", quartiles=quartiles)
    player = tracker.player("1_prop")
    player.loaded(30.0, t=T0)
    t = T0
    for kind, dt, value in steps:
        t += dt
        clock.now = t
        if kind == "tick":
            player.tick(t=t)
        elif kind == "progress":
            player.observe("progress", t, position=value)
        elif kind in ("seeking", "seeked", "playing", "pause"):
            player.observe(kind, t, position=value if value == value and 0 <= value < 1e6 else None)
        elif kind == "rate":
            player.observe(kind, t, rate=value)
        elif kind == "fullscreen":
            player.observe(kind, t, on=value > 1)
        elif kind == "flavor":
            player.observe(kind, t, bitrate=value)
        else:
            player.observe(kind, t)
    previous = 0
    for record in tracker.queued():
        index = dict((k, v) for k, v in record["x"])["eventIndex"]
        assert index == previous + 1 or index == 1, (previous, index)
        previous = index
    names = kava_names(tracker)
    for quartile in ("PLAY_REACHED_25", "PLAY_REACHED_50", "PLAY_REACHED_75", "PLAY_REACHED_90", "PLAY_REACHED_100"):
        assert names.count(quartile) <= 1
    if any(name.startswith("PLAY_REACHED") for name in names):
        assert "PLAY" in names[:names.index(next(n for n in names if n.startswith("PLAY_REACHED")))]


def test_beacons_made_before_the_first_answer_carry_session_start_time_when_sent_after_it():
    """As Player v7 (which takes sessionStartTime when it sends), beacons queued before the server's first answer carry it once known; the stored record is unchanged."""
    clock = FakeClock()
    tracker = make_tracker(clock, protocol="kava")
    transport = ScriptedTransport(lambda request: (200, json.dumps({"time": 1700000042, "viewEventsEnabled": True})))
    sender = sync_sender(tracker, clock, transport)
    play(tracker, clock, 1)
    stored = json.dumps(tracker.queued())
    sender.pump()
    starts = [split(r)[1].get("sessionStartTime") for r in transport.requests]
    assert starts[0] is None and set(starts[1:]) == {"1700000042"}
    assert "1700000042" not in stored


def test_a_reset_between_making_and_sending_keeps_the_old_runs_beacons_without_the_new_start_time():
    """A beacon of the run before a 30-s reset never takes the start time the server gave the run after it."""
    clock = FakeClock()
    tracker = make_tracker(clock, protocol="kava")
    player = play(tracker, clock, 2)
    player.pause(t=clock.now)
    before = len(tracker.queued())
    clock.now += RESET_AFTER + 1
    player.playing(2.0, t=clock.now)  # RESUME: eventIndex 1 of the next run
    player.kava.answered(1700000077, True)
    sent = [tracker.outgoing(r) for r in tracker.queued()]
    starts = [dict((k, v) for k, v in r["x"]).get("sessionStartTime") for r in sent]
    assert starts[:before] == [None] * before and starts[before:] == [1700000077]


def _x(record):
    return dict((k, v) for k, v in record["x"])


def _views(tracker):
    return [_x(r) for r in tracker.queued() if r["e"] == 99]


def _run_for(player, clock, seconds, position):
    for _ in range(int(seconds * 4)):
        clock.now += 0.25
        position += 0.25
        player.progress(position, t=clock.now)
    return position


def test_an_error_between_the_play_request_and_playback_is_pre_playing():
    """errorPosition 1 when the play was requested but playback never started (3 before, 2 during: see the vectors)."""
    clock = FakeClock()
    tracker = make_tracker(clock, protocol="kava")
    player = tracker.player("1_kava")
    player.play_request(t=clock.now)
    player.error(4, "decode", t=clock.now)
    assert _x(tracker.queued()[-1])["errorPosition"] == 1


def test_media_that_ends_without_playing_sends_no_pause():
    """PAUSE at the end stands for the media element's own pause: none when playback never ran."""
    clock = FakeClock()
    tracker = make_tracker(clock, protocol="kava")
    player = tracker.player("1_kava")
    player.loaded(4.0, t=clock.now)
    player.ended(t=clock.now)
    assert kava_names(tracker) == ["IMPRESSION"]


def test_records_carry_no_run_number_before_any_reset_and_sent_ones_keep_their_start_time():
    """Before a reset a record has no run mark; a record made after the answer goes out as stored, its start time once."""
    clock = FakeClock()
    tracker = make_tracker(clock, protocol="kava")
    transport = ScriptedTransport(lambda request: (200, json.dumps({"time": 1700000042})))
    sender = sync_sender(tracker, clock, transport)
    player = play(tracker, clock, 1)
    sender.pump()
    _run_for(player, clock, 10, 1.0)
    assert all("sr" not in r for r in tracker.queued())
    sender.pump()
    last = split(transport.requests[-1])
    assert urllib.parse.parse_qsl(transport.requests[-1].body).count(("sessionStartTime", "1700000042")) == 1
    assert last[1]["eventIndex"] == str(len(transport.requests))


def test_the_reset_zeroes_buffer_time_sum_and_a_second_long_pause_resets_again():
    """bufferTimeSum starts again at a reset; after playing again, another 30-s stop resets once more."""
    clock = FakeClock()
    tracker = make_tracker(clock, protocol="kava")
    player = play(tracker, clock, 2, duration=200.0)
    player.waiting(2.0, t=clock.now)
    clock.now += 3
    player.progress(2.25, t=clock.now)  # the buffer ends: 3 s
    player.pause(t=clock.now)
    for _ in range(2):
        clock.now += RESET_AFTER + 1
        player.playing(2.25, t=clock.now)
        resumed = tracker.queued()[-1]
        assert _x(resumed)["eventIndex"] == 1 and _x(resumed)["bufferTimeSum"] == 0.0
        _run_for(player, clock, 11, 2.25)
        assert _views(tracker)[-1]["bufferTimeSum"] == 0.0
        player.pause(t=clock.now)


def test_two_short_pauses_do_not_add_up_to_a_reset():
    """Each stop has its own 30 s: two pauses of 20 s with playing between keep the counters."""
    clock = FakeClock()
    tracker = make_tracker(clock, protocol="kava")
    player = play(tracker, clock, 2, duration=200.0)
    position = 2.0
    for _ in range(2):
        player.pause(t=clock.now)
        clock.now += 20
        player.playing(position, t=clock.now)
        position = _run_for(player, clock, 1, position)
    assert [_x(r)["eventIndex"] for r in tracker.queued()] == list(range(1, len(tracker.queued()) + 1))


def test_after_a_replay_the_next_view_comes_ten_seconds_later():
    """REPLAY restarts the VIEW clock: the first VIEW of the new pass is 10 s of playing after it."""
    clock = FakeClock()
    tracker = make_tracker(clock, protocol="kava")
    player = play(tracker, clock, 6, duration=6.0)
    player.ended(t=clock.now)
    player.play(0.0, t=clock.now)
    replay_at = clock.now
    views = len(_views(tracker))
    _run_for(player, clock, 9.5, 0.0)
    assert len(_views(tracker)) == views
    _run_for(player, clock, 1, 9.5)
    assert len(_views(tracker)) == views + 1 and clock.now - replay_at >= 10


def test_turning_captions_off_removes_the_caption_from_later_events():
    """A caption change to none (empty or missing language) is reported, and later events carry no caption."""
    clock = FakeClock()
    tracker = make_tracker(clock, protocol="kava")
    player = play(tracker, clock, 1)
    player.captions("en", t=clock.now)
    assert _x(tracker.queued()[-1])["caption"] == "en"
    player.captions("", t=clock.now)
    player.share(t=clock.now)
    assert "caption" not in _x(tracker.queued()[-1])


def test_a_tiny_bitrate_is_still_a_bitrate():
    """Any positive bitrate (bits per second) becomes actualBitrate in kbps; zero or negative is unknown."""
    clock = FakeClock()
    tracker = make_tracker(clock, protocol="kava")
    player = play(tracker, clock, 1)
    player.flavor(0, t=clock.now)
    assert "actualBitrate" not in _x(tracker.queued()[-1])
    player.flavor(1, t=clock.now)
    assert _x(tracker.queued()[-1])["actualBitrate"] == 0.001


def test_buffering_across_a_view_is_counted_once():
    """A VIEW during buffering reports the buffer so far; the rest is added once when it ends."""
    clock = FakeClock()
    tracker = make_tracker(clock, protocol="kava")
    player = play(tracker, clock, 9, duration=200.0)
    player.waiting(9.0, t=clock.now)
    clock.now += 2
    player.tick(t=clock.now)  # 11 s of playing: a VIEW, 2 s of it buffering
    clock.now += 3
    player.progress(9.25, t=clock.now)  # BUFFER_END: 5 s in all
    _run_for(player, clock, 10, 9.25)
    last = _views(tracker)[-1]
    assert last["bufferTimeSum"] == 5.0 and last["bufferTime"] == 3.0


@pytest.mark.parametrize("stopped, resets", [(RESET_AFTER - 0.25, False), (RESET_AFTER, True)])
def test_the_reset_comes_at_thirty_seconds_stopped_not_before(stopped, resets):
    """The counters start again after exactly 30 s without playback (paused or ended), not a moment sooner; twice stopped, twice reset."""
    clock = FakeClock()
    tracker = make_tracker(clock, protocol="kava")
    player = play(tracker, clock, 1, duration=200.0)
    for n in range(2):
        player.pause(t=clock.now)
        clock.now += stopped
        player.playing(1.0, t=clock.now)
        index = _x(tracker.queued()[-1])["eventIndex"]
        assert (index == 1) is resets, (n, index)
        _run_for(player, clock, 1, 1.0)
    assert tracker.queued()[-1].get("sr", 0) == (2 if resets else 0)


def test_an_ended_playback_resets_after_thirty_seconds_too():
    """Ended stops the clock like pause: 30 s later the next playback starts at eventIndex 1."""
    clock = FakeClock()
    tracker = make_tracker(clock, protocol="kava")
    player = play(tracker, clock, 4, duration=4.0)
    player.ended(t=clock.now)
    clock.now += RESET_AFTER
    player.play(0.0, t=clock.now)
    assert kava_names(tracker)[-1] == "REPLAY" and _x(tracker.queued()[-1])["eventIndex"] == 1


def test_waiting_before_the_first_play_never_resets():
    """Before PLAY there is no playing clock: a page left 60 s before the play keeps eventIndex 1, 2, 3..."""
    clock = FakeClock()
    tracker = make_tracker(clock, protocol="kava")
    player = tracker.player("1_kava")
    player.loaded(100.0, t=clock.now)
    clock.now += 60
    player.play(0.0, t=clock.now)
    assert [_x(r)["eventIndex"] for r in tracker.queued()] == [1, 2, 3, 4]


def test_the_first_timed_view_comes_after_exactly_ten_seconds_of_playing():
    """No VIEW at 9.75 s of playing, one at 10 s (the clock starts at PLAY from zero)."""
    clock = FakeClock()
    tracker = make_tracker(clock, protocol="kava")
    player = play(tracker, clock, 9.75, duration=100.0)
    assert len(_views(tracker)) == 1
    _run_for(player, clock, 0.25, 9.75)
    assert len(_views(tracker)) == 2


def test_positions_are_sent_to_the_millisecond_and_a_second_answer_changes_no_start_time():
    """position is rounded to 3 decimals; sessionStartTime is the first answer's time, later answers do not move it."""
    clock = FakeClock()
    tracker = make_tracker(clock, protocol="kava")
    player = play(tracker, clock, 1, duration=100.0)
    player.kava.answered(1700000001, None)
    player.kava.answered(1700000999, None)
    player.seek(12.34567, t=clock.now)
    seek = _x(tracker.queued()[-1])
    assert seek["position"] == 12.346 and seek["targetPosition"] == 12.346
    assert seek["sessionStartTime"] == 1700000001
    player.flavor(1536.0, t=clock.now)  # a float bitrate: 1.5 kbps
    assert _x(tracker.queued()[-1])["actualBitrate"] == 1.5
