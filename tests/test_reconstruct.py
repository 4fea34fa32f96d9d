"""A media element that played before the SDK listened (no early-event snippet): PLAY,
the quartiles its played range from 0 proves, PAUSE or ENDED, and a diagnostic saying so;
attach() after start() does exactly what automatic instrumentation does."""

import asyncio

import pytest

from kaltura_web.browser.page import attach, start
from tests.fake_page import FakePage, Transport, Video

CONFIG = {"partnerId": 100, "serviceUrl": "https://collector.test/api_v3", "analyticsUrl": "https://collector.test",
          "ks": "ks-now", "storage": "memory"}
ENTRY = "0_lobby001"
LIFECYCLE = ["WIDGET_LOADED", "MEDIA_LOADED", "PLAY_REQUEST", "PLAY", "FIRST_PLAY"]
# element state when the SDK starts -> (position, paused, ended, played ranges), what is reconstructed
STATES = {
    "playing": ((2.3, False, False, [[0.0, 2.3]]), LIFECYCLE + ["PLAY_REACHED_25", "PLAY_REACHED_50"]),
    "paused": ((2.3, True, False, [[0.0, 2.3]]), LIFECYCLE + ["PLAY_REACHED_25", "PLAY_REACHED_50", "PAUSE"]),
    "ended": ((4.0, True, True, [[0.0, 4.0]]), LIFECYCLE + ["PLAY_REACHED_25", "PLAY_REACHED_50", "PLAY_REACHED_75",
                                                          "PLAY_REACHED_90", "PLAY_REACHED_100", "ENDED"]),
    "seeked": ((2.3, False, False, [[0.0, 0.6], [1.5, 2.3]]), LIFECYCLE),
}


def late_start(monkeypatch, how, state, snippet=None, config=None):
    """Start the SDK on a page whose video is in ``state``, through automatic
    instrumentation or start() then attach(video, entry id); returns (page, video, runtime, handle)."""
    (position, paused, ended, played), _expected = STATES[state]
    video = Video(ENTRY if how == "auto" or snippet else None).state(position, paused, ended, played)
    page = FakePage(dict(CONFIG, **(config or {})), [video], snippet=snippet).install(monkeypatch)
    runtime = asyncio.run(start(transport=Transport()))
    handle = runtime.attachments[0] if how == "auto" else attach(video, ENTRY)
    return page, video, runtime, handle


def reconstructed(runtime):
    return [d["details"]["state"] for d in runtime.tracker.diagnostics if d["code"] == "reconstructed"]


@pytest.mark.parametrize("state", sorted(STATES))
@pytest.mark.parametrize("how", ["auto", "attach"])
def test_late_start_reconstructs_what_the_played_range_proves(monkeypatch, how, state):
    """Playing, paused mid-way, ended, or after a seek: PLAY, the quartiles covered by the played range from 0,
    PAUSE or ENDED, and one diagnostic naming what was reconstructed, the same through attach() as automatically."""
    page, _video, runtime, handle = late_start(monkeypatch, how, state)
    expected = STATES[state][1]
    assert page.event_names(ENTRY) == expected
    (diag,) = reconstructed(runtime)
    assert diag["quartiles"] == [n for n in expected if n.startswith("PLAY_REACHED_")]
    assert handle.reconstructed == diag and diag["position"] == STATES[state][0][0]
    message = [d["message"] for d in runtime.tracker.diagnostics if d["code"] == "reconstructed"][0]
    assert "PLAY at %.1f s" % diag["position"] in message and all(q in message for q in diag["quartiles"])
    if how == "auto":
        assert page.ready()["early"]["reconstructed"][0]["quartiles"] == diag["quartiles"]
    else:
        assert runtime.early_report["reconstructed"][0]["quartiles"] == diag["quartiles"]


@pytest.mark.parametrize("how", ["auto", "attach"])
def test_after_the_reconstruction_natural_playback_reports_the_rest(monkeypatch, how):
    """Once reconstructed, the playing element's next timeupdates and its end send 75, 90, 100 and ENDED."""
    page, video, _runtime, _handle = late_start(monkeypatch, how, "playing")
    for position in (2.8, 3.1, 3.5):
        video.currentTime = position
        video.fire("timeupdate")
    video.state(4.0, paused=True, ended=True)
    video.fire("ended")
    assert page.event_names(ENTRY) == STATES["playing"][1] + ["PLAY_REACHED_75", "PLAY_REACHED_90",
                                                               "PLAY_REACHED_100", "ENDED"]


def test_an_untouched_element_reconstructs_nothing(monkeypatch):
    """A video that never played (paused at 0, nothing played) is only loaded: no PLAY, no diagnostic."""
    video = Video().state(0.0, paused=True)
    page = FakePage(CONFIG, [video]).install(monkeypatch)
    runtime = asyncio.run(start(transport=Transport()))
    handle = attach(video, ENTRY)
    assert page.event_names(ENTRY) == ["WIDGET_LOADED", "MEDIA_LOADED"] and handle.reconstructed is None
    assert reconstructed(runtime) == []


def test_a_player_that_saw_its_playback_is_not_reconstructed_again(monkeypatch):
    """Attaching the element again with its own Player (after a detach) adds no second PLAY."""
    page, video, _runtime, handle = late_start(monkeypatch, "attach", "playing")
    handle.detach()
    again = attach(video, handle.player)
    assert again.reconstructed is None
    assert page.event_names(ENTRY).count("PLAY") == 1


class SnippetQueue(list):
    """window.kalturaWebQueue as the early-event snippet leaves it."""

    t0 = 1_700_000_000.0
    dropped = 0
    stopped = False

    @property
    def length(self):
        return len(self)

    @length.setter
    def length(self, n):
        del self[n:]

    def stop(self):
        self.stopped = True


class Raw:
    def __init__(self, **values):
        self.__dict__.update(values)


def test_attach_replays_the_snippets_records_of_its_element(monkeypatch):
    """With the snippet and "instrument": false, start() stops the snippet and attach() replays the element's
    records with their own times instead of reconstructing."""
    queue = SnippetQueue()
    video = Video(ENTRY).state(2.3, paused=False)

    def record(kind, t, position):
        return Raw(type=kind, t=SnippetQueue.t0 + t, el=video, currentTime=position, duration=4.0, paused=False,
                   ended=False, seeking=False, playbackRate=1.0)

    queue.extend([record("loadedmetadata", 0.1, 0.0), record("play", 0.5, 0.0), record("playing", 0.6, 0.0), record("timeupdate", 1.2, 0.6),
                  record("timeupdate", 1.8, 1.2), record("timeupdate", 2.4, 1.8), record("timeupdate", 2.9, 2.3)])
    page = FakePage(dict(CONFIG, instrument=False), [video], snippet=queue).install(monkeypatch)
    runtime = asyncio.run(start(transport=Transport()))
    assert queue.stopped and runtime.attachments == []
    attach(video, ENTRY)
    events = page.window.events("kaltura-web:event")
    assert [e["name"] for e in events] == LIFECYCLE + ["PLAY_REACHED_25", "PLAY_REACHED_50"]
    assert events[3]["t"] == SnippetQueue.t0 + 0.6  # PLAY with its recorded time
    assert reconstructed(runtime) == []
    second = Video(ENTRY).state(1.0, paused=False)
    attach(second, "0_second")  # no records of its own: reconstructed from its state
    assert reconstructed(runtime)[0]["position"] == 1.0
