"""The loop wrap rule (PlaybackSession.wraps) at its edges; the vectors show whole passes."""

import random

import pytest

from kaltura_web.core.session import WRAP_SLACK, WRAP_START, PlaybackSession

from .fakes import FakeClock, make_tracker


def playing_at(position, duration=10.0, t=100.0, rate=1.0):
    session = PlaybackSession("1_loop", random.Random(1))
    session.observe("metadata", t - 50, duration=duration)
    session.observe("playing", t - 50, position=0.0)
    if rate != 1.0:
        session.observe("rate", t - 50, rate=rate)
    session.observe("progress", t, position=position)
    return session


@pytest.mark.parametrize("position, dt, target, rate, wraps", [
    (9.8, 0.25, 0.0, 1.0, True),                    # the last timeupdate 0.2 s before the end
    (9.8, 0.25, WRAP_START, 1.0, True),             # landing up to WRAP_START counts as the start
    (9.8, 0.25, WRAP_START + 0.01, 1.0, False),     # further in is a seek
    (8.0, 0.25, 0.0, 1.0, False),                   # 2 s before the end: a user's seek
    (10.0 - 0.25 - WRAP_SLACK + 0.01, 0.25, 0.0, 1.0, True),  # just within reach
    (10.0 - 0.25 - WRAP_SLACK - 0.01, 0.25, 0.0, 1.0, False),  # just out of it
    (6.0, 0.25, 0.0, 16.0, True),                   # at 16x a quarter second covers 4 s
])
def test_wrap_or_seek(position, dt, target, rate, wraps):
    """A seek to near 0 is the loop wrapping only when playback can have reached the end since the playhead was seen."""
    session = playing_at(position, rate=rate)
    assert session.wraps(target, 100.0 + dt) is wraps


def test_no_wrap_outside_natural_playback():
    """Paused, during an ad, while seeking or with a live duration a jump to 0 is never a wrap."""
    session = playing_at(9.9)
    session.observe("pause", 100.1)
    assert not session.wraps(0.0, 100.2)
    live = playing_at(9.9, duration=float("inf"))
    assert not live.wraps(0.0, 100.2)
    ad = playing_at(9.9)
    ad.observe("ad_start", 100.1, slot="midroll")
    assert not ad.wraps(0.0, 100.2)


def test_loop_must_be_a_bool():
    """loop is the caller's flag: anything but True/False is refused before anything changes."""
    clock = FakeClock()
    player = make_tracker(clock).player("1_loop")
    with pytest.raises(TypeError):
        player.seeking(0.0, loop="yes")
    assert player.session.seeking is False
