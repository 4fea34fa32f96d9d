import random

import pytest

from kaltura_web import Tracker, mask_ks
from tests.fakes import FakeClock, make_tracker


@pytest.mark.parametrize("kwargs, error", [
    ({"partner_id": None}, ValueError),
    ({"partner_id": -3}, ValueError),
    ({"partner_id": True}, ValueError),
    ({"partner_id": 1, "service_url": "www.kaltura.com"}, ValueError),
    ({"partner_id": 1, "ks": 123}, TypeError),
    ({"partner_id": 1, "ks_provider": "not callable"}, TypeError),
    ({"partner_id": 1, "uiconf_id": "abc"}, ValueError),
    ({"partner_id": 1, "max_queue": 0}, ValueError),
])
def test_misconfiguration_raises_at_the_call(kwargs, error):
    """Calling the constructor wrongly raises a clear exception immediately."""
    with pytest.raises(error):
        Tracker(clock=FakeClock(), rng=random.Random(1), **kwargs)


def test_partner_id_accepts_digit_strings():
    """Partner ids from configuration files may be digit strings."""
    assert Tracker("4242", clock=FakeClock(), rng=random.Random(1)).partner_id == 4242


@pytest.mark.parametrize("call", [
    lambda t: t.player(""),
    lambda t: t.player(None),
    lambda t: t.report(41, "e"),
    lambda t: t.report(0, "e"),
    lambda t: t.report("3", "e"),
    lambda t: t.report(3, "e", current_point="12"),
    lambda t: t.report(3, "e", seek="yes"),
    lambda t: t.button_click(None, "x"),
    lambda t: t.page_load(page_type=5),
    lambda t: t.player("e").progress("ten"),
    lambda t: t.player("e").ad_start("banner"),
    lambda t: t.player("e").observe("explode"),
])
def test_api_misuse_raises(call):
    """Wrong arguments from the developer raise TypeError/ValueError at the call."""
    with pytest.raises((TypeError, ValueError)):
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
    assert any("on_event hook raised" in d["message"] for d in tracker.diagnostics)


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
