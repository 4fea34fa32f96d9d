import random

import pytest

from kaltura_web import Tracker, mask_ks
from tests.fakes import FakeClock, make_tracker, tracker_state


@pytest.mark.parametrize("kwargs, error", [
    ({"partner_id": None}, ValueError),
    ({"partner_id": -3}, ValueError),
    ({"partner_id": True}, ValueError),
    ({"partner_id": 1, "service_url": "www.kaltura.com"}, ValueError),
    ({"partner_id": 1, "ks": 123}, TypeError),
    ({"partner_id": 1, "ks_provider": "not callable"}, TypeError),
    ({"partner_id": 1, "uiconf_id": "abc"}, ValueError),
    ({"partner_id": 1, "max_queue": 0}, ValueError),
    ({"partner_id": 2 ** 70}, ValueError),
    ({"partner_id": 2 ** 31}, ValueError),
    ({"partner_id": "9" * 5000}, ValueError),
    ({"partner_id": "\u00b2"}, ValueError),
    ({"partner_id": 1, "uiconf_id": 2 ** 31}, ValueError),
    ({"partner_id": 1, "uiconf_id": -4}, ValueError),
    ({"partner_id": 1, "service_url": "http://"}, ValueError),
    ({"partner_id": 1, "analytics_url": "https:///path"}, ValueError),
    ({"partner_id": 1, "on_event": "print"}, TypeError),
    ({"partner_id": 1, "on_diagnostic": 5}, TypeError),
    ({"partner_id": 1, "retry": (1.0, 2.0)}, TypeError),
])
def test_misconfiguration_raises_at_the_call(kwargs, error):
    """Calling the constructor wrongly (ids beyond Kaltura's 32-bit range, host-less URLs,
    non-callable hooks...) raises a clear exception immediately."""
    with pytest.raises(error):
        Tracker(clock=FakeClock(), rng=random.Random(1), **kwargs)


def test_partner_id_accepts_digit_strings():
    """Partner ids from configuration files may be digit strings."""
    assert Tracker("4242", clock=FakeClock(), rng=random.Random(1)).partner_id == 4242


@pytest.mark.parametrize("call, error, match", [
    (lambda t: t.player(""), ValueError, "entry_id must be a non-empty string"),
    (lambda t: t.player(None), TypeError, "entry_id must be a string"),
    (lambda t: t.report(41, "e"), ValueError, "event_type must be a stats.collect type 1-40, got 41"),
    (lambda t: t.report(0, "e"), ValueError, "event_type must be a stats.collect type 1-40, got 0"),
    (lambda t: t.report("3", "e"), ValueError, "event_type must be a stats.collect type"),
    (lambda t: t.report(3, "e", current_point="12"), TypeError, "current_point must be a number"),
    (lambda t: t.report(3, "e", seek="yes"), TypeError, "seek must be True or False"),
    (lambda t: t.button_click(None, "x"), TypeError, "button_type must be a string"),
    (lambda t: t.page_load(page_type=5), TypeError, "page_type must be a string"),
    (lambda t: t.player("e").progress("ten"), TypeError, "position must be a number"),
    (lambda t: t.player("e").ad_start("banner"), ValueError, "ad_start slot must be one of"),
    (lambda t: t.player("e").observe("explode"), ValueError, "unknown observation 'explode'"),
])
def test_api_misuse_raises(call, error, match):
    """Wrong arguments from the developer raise the exact exception, naming the argument, at the call."""
    with pytest.raises(error, match=match):
        call(make_tracker())


def test_report_sends_any_type_1_to_40():
    """report() queues every stats.collect type, editor and upload types included."""
    tracker = make_tracker()
    for event_type in range(1, 41):
        tracker.report(event_type, "1_abc", session_id="s")
    assert [r["e"] for r in tracker.queued()] == list(range(1, 41))


def test_hook_exceptions_never_break_tracking():
    """A raising on_event hook is reported to diagnostics; beacons are still queued."""
    def bad_hook(event):
        raise RuntimeError("boom")

    tracker = make_tracker(on_event=bad_hook)
    tracker.player("e").play(0.0)
    assert [r["e"] for r in tracker.queued()] == [1, 2, 3]
    assert {d["code"] for d in tracker.diagnostics} == {"hook-failed"}  # once per event


def test_hook_only_events_reach_on_event():
    """PLAY_REQUEST, FIRST_PLAY, PAUSE, CAPTIONS... reach the hook but produce no beacon."""
    seen = []
    tracker = make_tracker(on_event=lambda e: seen.append((e["name"], e["entryId"])))
    player = tracker.player("1_x")
    player.loaded(10.0)
    player.play(0.0)
    player.pause(1.0)
    player.captions("en")
    names = [n for n, _ in seen]
    assert names == ["WIDGET_LOADED", "MEDIA_LOADED", "PLAY_REQUEST", "PLAY", "FIRST_PLAY", "PAUSE", "CAPTIONS"]
    assert {e for _, e in seen} == {"1_x"}
    assert [r["e"] for r in tracker.queued()] == [1, 2, 3]


def test_observation_time_defaults_to_the_clock_and_can_be_given():
    """Observations take the clock's time unless an explicit (earlier) time is passed."""
    clock = FakeClock(1_700_000_100.0)
    tracker = make_tracker(clock)
    player = tracker.player("e", ready=False)
    player.ready(t=1_700_000_050.5)
    player.loaded(5.0)
    assert [r["t"] for r in tracker.queued()] == [1_700_000_050, 1_700_000_100]


def test_each_player_has_its_own_session():
    """Two players on one page report under different session ids."""
    tracker = make_tracker()
    a, b = tracker.player("a"), tracker.player("b")
    assert a.session_id != b.session_id


def test_mask_ks_never_shows_the_whole_ks():
    """Logged KSs are masked."""
    ks = "djJ8MTAwfABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    masked = mask_ks(ks)
    assert masked.startswith("djJ8MTAw") and masked.endswith("6789") and len(masked) < 16
    assert mask_ks(None) == "<none>"


BAD_TEXT = "report-\udcff.mp4"  # what os.fsdecode gives for a non-UTF-8 file name


@pytest.mark.parametrize("call, argument", [
    (lambda t: t.page_load(page_name=BAD_TEXT), "page_name"),
    (lambda t: t.page_load(page_type=BAD_TEXT), "page_type"),
    (lambda t: t.page_load("lobby", application=BAD_TEXT), "application"),
    (lambda t: t.page_load("lobby", entry_id=BAD_TEXT), "entry_id"),
    (lambda t: t.button_click("cta", BAD_TEXT), "button_name"),
    (lambda t: t.button_click(BAD_TEXT, "go"), "button_type"),
    (lambda t: t.player(BAD_TEXT), "entry_id"),
    (lambda t: t.report(3, BAD_TEXT), "entry_id"),
    (lambda t: t.report(3, "e", session_id=BAD_TEXT), "session_id"),
    (lambda t: t.set_ks("djJ8" + BAD_TEXT), "ks"),
])
def test_unencodable_strings_are_rejected_at_the_call(call, argument):
    """A string that cannot be encoded as UTF-8 raises ValueError naming the argument, and nothing changes."""
    tracker = make_tracker()
    tracker.player("e").play(0.0)
    before = tracker_state(tracker)
    with pytest.raises(ValueError, match=argument):
        call(tracker)
    assert tracker_state(tracker) == before


@pytest.mark.parametrize("option", ["referrer", "client_ver", "application", "ks"])
def test_unencodable_configuration_is_rejected(option):
    """Configuration strings that cannot be encoded as UTF-8 raise ValueError naming the option."""
    with pytest.raises(ValueError, match=option):
        make_tracker(**{option: "x\udcff"})


INF, NAN = float("inf"), float("nan")


@pytest.mark.parametrize("call", [
    lambda p: p.ready(t=INF),
    lambda p: p.loaded(10.0, t=NAN),
    lambda p: p.play(0.0, t=INF),
    lambda p: p.play(INF),
    lambda p: p.play(position=NAN),
    lambda p: p.playing(-INF),
    lambda p: p.progress(INF),
    lambda p: p.progress(NAN),
    lambda p: p.progress(1e300),
    lambda p: p.progress(-1.0),
    lambda p: p.progress(1.0, t=-INF),
    lambda p: p.seek(NAN),
    lambda p: p.seek(5.0, t=1e300),
    lambda p: p.pause(INF),
    lambda p: p.ended(t=NAN),
    lambda p: p.ad_progress(INF, 10.0),
    lambda p: p.observe("ready", INF),
])
def test_non_finite_times_and_positions_raise_before_the_state_machine_moves(call):
    """t or a position that is NaN, infinite, negative or absurdly large raises ValueError and changes nothing."""
    tracker = make_tracker()
    player = tracker.player("e", ready=False)
    before = tracker_state(tracker)
    with pytest.raises(ValueError):
        call(player)
    assert tracker_state(tracker) == before


def test_a_rejected_time_does_not_poison_later_calls():
    """After t=inf was refused, calls with a normal t give the full lifecycle."""
    tracker = make_tracker()
    player = tracker.player("e", ready=False)
    with pytest.raises(ValueError):
        player.play(0.0, t=INF)
    player.loaded(8.0, t=1_700_000_001)
    player.play(0.0, t=1_700_000_002)
    player.progress(2.0, t=1_700_000_004)
    assert [r["e"] for r in tracker.queued()] == [1, 2, 3, 4]
    assert [r["t"] - 1_700_000_000 for r in tracker.queued()] == [1, 1, 2, 4]


@pytest.mark.parametrize("kwargs", [
    {"t": INF}, {"t": NAN}, {"t": 1e300}, {"current_point": INF}, {"current_point": NAN},
    {"current_point": -1}, {"duration": INF}, {"duration": 1e300}, {"current_point": 2 ** 70},
])
def test_report_rejects_non_finite_numbers(kwargs):
    """report() raises ValueError for non-finite or out-of-range numbers and queues nothing."""
    tracker = make_tracker()
    before = tracker_state(tracker)
    with pytest.raises(ValueError):
        tracker.report(3, "e", **kwargs)
    assert tracker_state(tracker) == before


@pytest.mark.parametrize("call", [
    lambda t: t.page_load("lobby", t=INF),
    lambda t: t.button_click("cta", "go", t=NAN),
])
def test_application_events_reject_non_finite_times(call):
    """trackEvent calls with a non-finite t raise ValueError and queue nothing."""
    tracker = make_tracker()
    with pytest.raises(ValueError, match="t must be"):
        call(tracker)
    assert tracker.queued() == []


@pytest.mark.parametrize("duration", [NAN, -INF, -5.0, 1e300])
def test_a_nonsense_duration_from_the_element_is_unknown_not_an_error(duration):
    """A media element's NaN (or otherwise unusable) duration means unknown: a diagnostic, no quartiles, no raise."""
    tracker = make_tracker()
    player = tracker.player("e")
    player.loaded(duration)
    player.play(0.0)
    player.progress(1.0)
    assert [r["e"] for r in tracker.queued()] == [1, 2, 3]
    assert all("d" not in r for r in tracker.queued())
    assert "invalid-duration" in [d["code"] for d in tracker.diagnostics]


def test_infinite_duration_is_live_without_a_diagnostic():
    """duration=Infinity is how a media element says live: no quartiles, nothing reported."""
    tracker = make_tracker()
    player = tracker.player("e")
    player.loaded(INF)
    player.play(0.0)
    assert [r["e"] for r in tracker.queued()] == [1, 2, 3]
    assert tracker.diagnostics == []


def test_largest_partner_id_is_accepted():
    """2**31-1, the largest Kaltura partner id, is fine."""
    assert Tracker(2 ** 31 - 1, clock=FakeClock(), rng=random.Random(1)).partner_id == 2 ** 31 - 1


@pytest.mark.parametrize("path, error", [(123, TypeError), (b"q.db", TypeError), ("", ValueError)])
def test_create_tracker_rejects_unusable_queue_paths(path, error):
    """queue_path must be a non-empty str or os.PathLike; "" no longer silently means memory."""
    from kaltura_web.cpython import create_tracker

    with pytest.raises(error, match="queue_path"):
        create_tracker(100, queue_path=path)


def test_create_tracker_takes_a_pathlike_queue(tmp_path):
    """A pathlib.Path queue is a durable SQLite queue."""
    from kaltura_web.cpython import SQLiteStore, create_tracker

    tracker = create_tracker(100, queue_path=tmp_path / "q.db")
    assert isinstance(tracker.engine.store, SQLiteStore)
    tracker.engine.store.close()


def test_new_id_is_public_and_drawn_from_the_injected_random_source():
    """new_id() gives UUID 4 text from the tracker's rng: the same seed, the same ids."""
    first, second = (Tracker(1, clock=FakeClock(), rng=random.Random(9)) for _ in range(2))
    ids = [first.new_id(), first.new_id()]
    assert ids == [second.new_id(), second.new_id()] and ids[0] != ids[1]
    assert len(ids[0]) == 36 and ids[0][14] == "4"


@pytest.mark.parametrize("kwargs, error, message", [
    ({"partner_id": "x"}, ValueError, "^partner_id must be"),
    ({"ks_provider": 5}, TypeError, "^ks_provider must be callable"),
    ({"on_event": 5}, TypeError, "^on_event must be callable"),
    ({"on_diagnostic": 5}, TypeError, "^on_diagnostic must be callable"),
    ({"uiconf_id": "x"}, ValueError, "^uiconf_id must be"),
    ({"batch_size": 0}, ValueError, "^batch_size must be a positive integer, got 0$"),
    ({"batch_size": True}, ValueError, "^batch_size must be a positive integer"),
    ({"batch_size": "5"}, ValueError, "^batch_size must be a positive integer"),
    ({"batch_size": 2.0}, ValueError, "^batch_size must be a positive integer"),
    ({"retry": (1.0,)}, TypeError, "^retry must be a RetryPolicy, got tuple$"),
    ({"application": 5}, TypeError, "^application must be a string"),
    ({"client_ver": 5}, TypeError, "^client_ver must be a string"),
    ({"referrer": 5}, TypeError, "^referrer must be a string"),
    ({"service_url": "ftp://x"}, ValueError, "^service_url must be an http"),
    ({"analytics_url": "ftp://x"}, ValueError, "^analytics_url must be an http"),
])
def test_each_wrong_argument_is_named_in_its_error(kwargs, error, message):
    """The exception for a wrong constructor argument is the exact type and starts with the argument's name."""
    options = dict({"partner_id": 1}, **kwargs)
    with pytest.raises(error, match=message):
        Tracker(clock=FakeClock(), rng=random.Random(1), **options)


class CountingStore:
    """A store that only counts how often the engine touched it."""

    def __init__(self):
        self.calls = 0

    def __getattr__(self, name):
        def method(*args):
            self.calls += 1
            return [] if name == "load" else None
        return method


@pytest.mark.parametrize("kwargs", [{"ks": 123}, {"ks": ""}, {"retry": "fast"}, {"batch_size": 0},
                                    {"service_url": "nope"}])
def test_a_wrong_argument_is_refused_before_the_store_is_touched(kwargs):
    """The constructor checks every argument before it builds anything: a refused one never reads the store."""
    store = CountingStore()
    with pytest.raises((TypeError, ValueError)):
        make_tracker(store=store, **kwargs)
    assert store.calls == 0
    make_tracker(store=store)
    assert store.calls > 0  # the spy does see a real construction


def test_a_default_tracker_names_this_client_and_batches_fifty():
    """Beacons carry clientVer kaltura_web:<package version>; a backlog goes out fifty beacons at a time."""
    from importlib.metadata import version

    from kaltura_web.core.tracker import CLIENT_VER

    tracker = Tracker(1, clock=FakeClock(), rng=random.Random(1), service_url="http://c.test/api_v3")
    assert CLIENT_VER == "kaltura_web:" + version("kaltura_web")
    records = [tracker.report(3, "e") for _ in range(60)]
    assert records[0]["c"] == CLIENT_VER
    (req,) = tracker.due_requests()
    assert len(req.beacon_ids) == 50


def test_a_tracker_takes_a_retry_policy():
    """A RetryPolicy given to the tracker decides its waits."""
    from kaltura_web.core.retry import RetryPolicy

    clock = FakeClock()
    tracker = make_tracker(clock, retry=RetryPolicy(backoff=(7.0,)))
    tracker.report(3, "e")
    (req,) = tracker.due_requests()
    tracker.handle_response(req, 500, "")
    assert tracker.next_wakeup() == clock.now + 7.0


def test_diagnose_counts_one_loss_by_default_in_the_lost_map():
    """tracker.diagnose with a loss reason and no count adds one to tracker.lost."""
    tracker = make_tracker()
    tracker.diagnose("early-dropped", "buffer overflowed", {"n": 1}, lost="early-dropped")
    assert tracker.lost == {"early-dropped": 1} and tracker.diagnostics[-1]["details"] == {"n": 1}


def test_set_ks_takes_none_and_refuses_an_empty_ks():
    """set_ks(None) drops the KS; an empty string is a TypeError (no KS is None, not '')."""
    tracker = make_tracker(ks="ks-one")
    with pytest.raises(TypeError, match="^ks must be a non-empty string"):
        tracker.set_ks("")
    assert tracker.ks == "ks-one"
    tracker.set_ks(None)
    assert tracker.ks is None


def test_a_failed_provider_answer_and_a_failed_hook_name_their_error():
    """The ks-provider-failed and hook-failed diagnostics carry the error in details['error']."""
    def hook(event):
        raise RuntimeError("boom")

    tracker = make_tracker(on_event=hook)
    assert tracker.provider_ks(5) is None
    assert tracker.diagnostics[-1]["details"] == {"error": "ks must be a non-empty string, got int"}
    tracker.player("e")
    assert tracker.diagnostics[-1]["details"] == {"error": "RuntimeError('boom')"}


def test_a_player_is_kept_and_announces_itself_unless_told_not_to():
    """player() registers the player and sends WIDGET_LOADED at once; ready=False sends nothing yet."""
    tracker = make_tracker()
    first = tracker.player("a")
    assert tracker.players == [first] and [r["e"] for r in tracker.queued()] == [1]
    second = tracker.player("b", ready=False)
    assert tracker.players == [first, second] and len(tracker.queued()) == 1


@pytest.mark.parametrize("call, error, message", [
    (lambda t: t.report(3, None), TypeError, "^entry_id must be a string"),
    (lambda t: t.report(3, "  "), ValueError, "^entry_id must be a non-empty string"),
    (lambda t: t.report(3, "e", session_id=""), ValueError, "^session_id must be a non-empty string"),
    (lambda t: t.report(3, "e", duration="9"), TypeError, "^duration must be a number"),
    (lambda t: t.page_load(page_name=5), TypeError, "^page_name must be a string"),
    (lambda t: t.page_load(entry_id=""), ValueError, "^entry_id must be a non-empty string"),
    (lambda t: t.page_load(application=5), TypeError, "^application must be a string"),
    (lambda t: t.button_click("a", None), TypeError, "^button_name must be a string"),
    (lambda t: t.player("e").playing("9"), TypeError, "^position must be a number"),
    (lambda t: t.player("e").ad_progress("1", 10.0), TypeError, "^position must be a number"),
])
def test_report_and_application_events_name_the_wrong_argument(call, error, message):
    """Each wrong argument of report(), page_load(), button_click() and the player raises naming it."""
    with pytest.raises(error, match=message):
        call(make_tracker())


def test_report_draws_a_session_id_unless_one_is_given():
    """Without session_id each report gets a fresh UUID session; a given one is kept."""
    tracker = make_tracker()
    first, second = tracker.report(3, "e"), tracker.report(3, "e")
    assert len(first["s"]) == 36 and first["s"] != second["s"]
    assert tracker.report(3, "e", session_id="my-session")["s"] == "my-session"


class TickingClock(FakeClock):
    """A clock that moves one second each time it is read."""

    def __call__(self):
        self.now += 1.0
        return self.now


def test_play_and_seek_stamp_both_of_their_observations_with_one_time():
    """play() and seek() read the clock once: the request and the start (or seeking and seeked) share a time."""
    tracker = make_tracker(TickingClock())
    player = tracker.player("e")
    player.loaded(100.0)
    play = player.play(0.0)
    assert [e.name for e in play] == ["PLAY_REQUEST", "PLAY", "FIRST_PLAY"] and len({e.t for e in play}) == 1
    seek = player.seek(40.0)
    assert [e.name for e in seek] == ["SEEK"] and seek[0].position == 40.0


def test_progress_returns_the_events_it_caused():
    """progress() returns [] in the common case and the quartile events when one is reached (with its own t)."""
    clock = FakeClock()
    tracker = make_tracker(clock)
    player = tracker.player("e")
    player.loaded(8.0)
    player.play(0.0)
    assert player.progress(1.0, t=clock.now + 1) == []
    reached = player.progress(2.0, t=clock.now + 2)
    assert [e.name for e in reached] == ["PLAY_REACHED_25"] and reached[0].t == clock.now + 2


def test_each_player_method_reports_its_observation():
    """Every Player method feeds its own observation and returns the events it made."""
    tracker = make_tracker()
    player = tracker.player("e")
    player.loaded(100.0)
    player.play(0.0)
    steps = [
        (lambda: player.error("E1", "decode"), ["ERROR"]),
        (lambda: player.rate(2.0), ["SPEED"]),
        (lambda: player.fullscreen(True), ["ENTER_FULLSCREEN"]),
        (lambda: player.fullscreen(False), ["EXIT_FULLSCREEN"]),
        (lambda: player.captions("en"), ["CAPTIONS"]),
        (lambda: player.flavor(800), ["FLAVOR_SWITCH"]),
        (lambda: player.source(1200), ["SOURCE_SELECTED"]),
        (lambda: player.share(), ["SHARE_CLICKED"]),
        (lambda: player.download(), ["DOWNLOAD_CLICKED"]),
        (lambda: player.related(), ["RELATED_CLICKED"]),
        (lambda: player.waiting(), ["BUFFER_START"]),
        (lambda: player.playing(), ["BUFFER_END"]),
        (lambda: player.seeking(60.0), ["SEEK"]),
        (lambda: player.seeked(60.0), []),
        (lambda: player.pause(60.0), ["PAUSE"]),
        (lambda: player.ad_start("midroll"), ["MIDROLL_STARTED"]),
        (lambda: player.ad_progress(5.0, 10.0), ["MIDROLL_25", "MIDROLL_50"]),
        (lambda: player.ad_click(), ["MIDROLL_CLICKED"]),
        (lambda: player.ad_end(), []),
        (lambda: player.bumper("post"), ["POST_BUMPER_PLAYED"]),
        (lambda: player.bumper_click(), ["BUMPER_CLICKED"]),
        (lambda: player.ended(), ["ENDED"]),
        (lambda: player.close(), []),
    ]
    for call, names in steps:
        events = call()
        assert [e.name for e in events] == names


def test_seek_stamps_seeking_and_seeked_with_one_time():
    """seek() reads the clock once: the state machine's last observation time is the SEEK's own time."""
    tracker = make_tracker(TickingClock())
    player = tracker.player("e")
    player.loaded(100.0)
    player.play(0.0)
    (seek,) = player.seek(40.0)
    assert player.session.last_t == seek.t


def test_user_id_is_the_configured_one():
    """tracker.user_id is the user_id given (None when none was)."""
    assert make_tracker(user_id="viewer-7").user_id == "viewer-7"
    assert make_tracker().user_id is None
