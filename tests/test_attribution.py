"""Attribution in guide mode: the configured user id on every beacon, the playback
session and application fields on trackEvent, uiconfId/widgetId on stats.collect,
through the Python API, the page runtime's clicks and page load, and the stored layout."""

import urllib.parse

import pytest

from kaltura_web.browser import early as early_mod
from kaltura_web.browser.page import KalturaWeb, create_tracker as page_tracker
from kaltura_web.browser.storage import LocalStorageStore
from kaltura_web.browser.storage_layout import dumps
from kaltura_web.core.encoding import STATS, TRACK, encode
from tests.fakes import FakeClock, ScriptedTransport, calls, make_tracker, sync_sender, tracker_state
from tests.test_storage_budget import FakeStorage

USER = "viewer@example.com"
ATTRIBUTED = dict(user_id=USER, application="events-portal", application_version="2.1.0",
                  virtual_event_id=9001, uiconf_id=23448, widget_id="_4242")


def _wire(tracker, record):
    """The wire fields of ``record`` sent alone, as a dict (ks and format left out)."""
    body = encode(record, tracker.ks, tracker.service_url, tracker.analytics_url).body
    fields = dict(urllib.parse.parse_qsl(body))
    fields.pop("ks", None), fields.pop("format")
    return fields


# -- stats.collect ---------------------------------------------------------------
def test_user_id_is_on_every_stats_beacon_alone_and_in_a_multirequest():
    """A configured user id is event[userId] on a single stats.collect POST and N:event:userId on each call of a multirequest."""
    clock = FakeClock()
    transport = ScriptedTransport()
    tracker = make_tracker(clock, user_id=USER)
    sender = sync_sender(tracker, clock, transport)
    tracker.report(3, "1_alone")
    sender.pump()
    player = tracker.player("1_batch")
    player.loaded(duration=30.0)
    player.play(position=0.0)
    sender.pump()
    single, batch = transport.requests
    assert single.url.endswith("/service/stats/action/collect") and calls(single)[0]["event[userId]"] == USER
    assert batch.url.endswith("/service/multirequest")
    names = [name for name, _ in urllib.parse.parse_qsl(batch.body)]
    assert ["1:event:userId", "2:event:userId", "3:event:userId"] == [n for n in names if n.endswith(":userId")]
    assert [c["event[userId]"] for c in calls(batch)] == [USER] * 3


def test_without_attribution_nothing_new_is_sent():
    """A tracker configured without user, widget, application or version sends the guide's fields only."""
    tracker = make_tracker()
    tracker.player("1_plain")
    stats = _wire(tracker, tracker.queued()[0])
    assert not {"event[userId]", "event[widgetId]", "event[applicationId]"} & set(stats)
    track = _wire(tracker, tracker.button_click("cta", "go"))
    assert set(track) == {"eventType", "partnerId", "buttonType", "buttonName", "beaconId"}


def test_configured_ids_and_application_travel_on_stats_beacons():
    """uiconfId, widgetId, userId and applicationId ride every stats.collect beacon; the trackEvent-only fields do not."""
    tracker = make_tracker(**ATTRIBUTED)
    tracker.player("1_entry")
    fields = _wire(tracker, tracker.queued()[0])
    assert (fields["event[uiconfId]"], fields["event[widgetId]"], fields["event[userId]"],
            fields["event[applicationId]"]) == ("23448", "_4242", USER, "events-portal")
    assert not [name for name in fields if "kalturaApplicationVer" in name or "virtualEventId" in name]


# -- analytics.trackEvent ----------------------------------------------------------
def test_a_click_on_a_player_carries_its_session_and_every_attribution_field():
    """button_click(player=) sends the player's entry and current session id, the user, application version, virtual event and the button's value/info."""
    tracker = make_tracker(**ATTRIBUTED)
    player = tracker.player("1_entry")
    record = tracker.button_click("cta", "register-now", player=player, button_value="spring-summit",
                                  button_info="hero", t=1_700_000_005)
    assert _wire(tracker, record) == {
        "eventType": "10002", "partnerId": "4242", "entryId": "1_entry", "kalturaApplication": "events-portal",
        "buttonType": "cta", "buttonName": "register-now", "sessionId": player.session_id, "userId": USER,
        "kalturaApplicationVer": "2.1.0", "virtualEventId": "9001", "buttonValue": "spring-summit",
        "buttonInfo": "hero", "beaconId": record["i"]}


def test_a_click_after_a_replay_carries_the_new_session():
    """The session id a click takes from its Player is the current one: after a replay, the replay's."""
    tracker = make_tracker(user_id=USER)
    player = tracker.player("1_entry")
    player.loaded(duration=4.0)
    player.play(position=0.0)
    player.ended()
    first = player.session_id
    player.play(position=0.0)
    assert player.session_id != first
    fields = _wire(tracker, tracker.button_click("share", "again", player=player, entry_id="1_other"))
    assert (fields["sessionId"], fields["entryId"]) == (player.session_id, "1_other")


def test_page_load_and_explicit_session_id():
    """page_load sends pageValue/pageInfo and a given session_id; button_click takes a session_id without a Player."""
    tracker = make_tracker(user_id=USER)
    load = _wire(tracker, tracker.page_load("lobby", "main", page_value="spring-summit", page_info="day-1"))
    assert (load["pageValue"], load["pageInfo"], load["userId"]) == ("spring-summit", "day-1", USER)
    assert "sessionId" not in load
    click = _wire(tracker, tracker.button_click("cta", "go", session_id="s-42"))
    assert click["sessionId"] == "s-42" and "entryId" not in click


@pytest.mark.parametrize("options, error, match", [
    ({"user_id": 42}, TypeError, "user_id must be a string"),
    ({"user_id": " "}, ValueError, "user_id must be a non-empty string"),
    ({"user_id": "ann\ud800"}, ValueError, "user_id cannot be encoded as UTF-8"),
    ({"widget_id": 100}, TypeError, "widget_id must be a string"),
    ({"widget_id": ""}, ValueError, "widget_id must be a non-empty string"),
    ({"application_version": 2.1}, TypeError, "application_version must be a string"),
    ({"application_version": "\udcff"}, ValueError, "application_version cannot be encoded"),
    ({"virtual_event_id": "next"}, ValueError, "virtual_event_id must be an integer"),
    ({"virtual_event_id": 0}, ValueError, "virtual_event_id must be an integer"),
])
def test_wrong_attribution_settings_raise_naming_the_argument(options, error, match):
    """The constructor rejects a user id, widget id, version or virtual event id of the wrong type or value."""
    with pytest.raises(error, match=match):
        make_tracker(**options)


@pytest.mark.parametrize("call, error, match", [
    (lambda t, p: t.button_click("cta", "go", button_value=3), TypeError, "button_value must be a string"),
    (lambda t, p: t.button_click("cta", "go", button_info="\ud800"), ValueError, "button_info cannot be encoded"),
    (lambda t, p: t.page_load(page_value=["a"]), TypeError, "page_value must be a string"),
    (lambda t, p: t.page_load(page_info=b"x"), TypeError, "page_info must be a string"),
    (lambda t, p: t.button_click("cta", "go", session_id=""), ValueError, "session_id must be a non-empty"),
    (lambda t, p: t.page_load(session_id=7), TypeError, "session_id must be a string"),
    (lambda t, p: t.button_click("cta", "go", player="1_entry"), TypeError, "player must be a Player, got str"),
    (lambda t, p: t.button_click("cta", "go", player=make_tracker().player("1_x")), ValueError,
     "player belongs to another tracker"),
    (lambda t, p: t.button_click("cta", "go", player=p, session_id="s"), ValueError,
     "give session_id or player, not both"),
    (lambda t, p: t.button_click("cta", "go", player=p, t=-1), ValueError, "t must be finite seconds"),
])
def test_wrong_application_event_arguments_raise_before_anything_changes(call, error, match):
    """A wrong value/info, session id or player raises the exact exception at the call and queues nothing."""
    tracker = make_tracker(user_id=USER)
    player = tracker.player("1_entry")
    before = tracker_state(tracker)
    with pytest.raises(error, match=match):
        call(tracker, player)
    assert tracker_state(tracker) == before


# -- the stored layout --------------------------------------------------------------
def test_the_user_id_is_stored_once_in_the_shared_context():
    """localStorage keeps the user id, widget id and version in the page's shared context, not in each record."""
    storage = FakeStorage()
    tracker = make_tracker(store=LocalStorageStore(4242, USER, storage=storage), **ATTRIBUTED)
    player = tracker.player("1_entry")
    player.loaded(duration=8.0)
    tracker.button_click("cta", "go", player=player)
    records = {k: v for k, v in storage.data.items() if ":q:" in k}
    contexts = [v for k, v in storage.data.items() if ":x:" in k]
    assert len(records) == 3 and len(contexts) == 2  # one context per record kind
    assert all(USER not in body and "_4242" not in body for body in records.values())
    assert sum(USER in text for text in contexts) == 2


def test_a_record_stored_by_an_older_version_still_loads_and_encodes():
    """A queued record whose context has none of the new keys (written before them) loads as it was and encodes without userId."""
    storage = FakeStorage()
    ns = "kaltura_web:4242:-"
    storage.data[ns + ":x:old"] = dumps([["c", "kaltura_web:0.0.9 browser"], ["p", 4242], ["r", "https://a.example/"],
                                         ["u", 23448]])
    storage.data[ns + ":q:s:1.t0"] = dumps({"i": "b-old", "n": "1_old", "e": 3, "s": "s-old", "t": 1_700_000_000,
                                            "x": "old"})
    storage.data[ns + ":n:s"] = "1"
    store = LocalStorageStore(4242, storage=storage)
    (record,) = store.load(STATS)
    tracker = make_tracker(store=LocalStorageStore(4242, storage=storage), user_id=USER)
    fields = _wire(tracker, record)
    assert (fields["event[entryId]"], fields["event[uiconfId]"], fields["event[referrer]"]) == \
        ("1_old", "23448", "https://a.example/")
    assert "event[userId]" not in fields
    assert tracker.pending() == 1


# -- the page runtime (browser edge, on CPython) --------------------------------------
class Element:
    """A DOM element reduced to getAttribute."""

    def __init__(self, **attributes):
        self.attributes = {k.replace("_", "-"): v for k, v in attributes.items()}

    def getAttribute(self, name):
        return self.attributes.get(name)


def _runtime(**config):
    config.setdefault("partnerId", 4242)
    config.update(storage="memory", referrer="https://portal.example/lobby")
    tracker = page_tracker(config)
    return KalturaWeb(config, tracker, sender=None)


def _track(runtime):
    return [_wire(runtime.tracker, r) for r in runtime.tracker.queued() if r["k"] == TRACK]


def test_page_configuration_reaches_every_beacon():
    """The page config's userId, widgetId, kalturaApplicationVer and virtualEventId configure the tracker; pageValue/pageInfo go on PageLoad."""
    runtime = _runtime(userId=USER, widgetId="_4242", kalturaApplicationVer="1.4.0", virtualEventId="9001",
                       pageType="lobby", pageName="main", pageValue="spring-summit", pageInfo="day-1")
    runtime.tracker.player("1_entry")
    runtime.page_load(t=1_700_000_000)
    stats = _wire(runtime.tracker, runtime.tracker.queued()[0])
    assert (stats["event[userId]"], stats["event[widgetId]"]) == (USER, "_4242")
    (load,) = _track(runtime)
    assert (load["userId"], load["kalturaApplicationVer"], load["virtualEventId"], load["pageValue"],
            load["pageInfo"]) == (USER, "1.4.0", "9001", "spring-summit", "day-1")


def test_a_wrong_page_configuration_raises_naming_the_argument():
    """A number where the page config needs a widget id string fails the start with a TypeError naming it."""
    with pytest.raises(TypeError, match="widget_id must be a string"):
        _runtime(widgetId=4242)


def test_a_click_carries_the_session_of_the_media_under_way():
    """A data-kaltura-button click without an entry carries the playing media's session and entry; with nothing playing, no session."""
    runtime = _runtime(userId=USER)
    idle = runtime.tracker.player("1_idle")
    runtime.button("cta:register-now", value="spring-summit", info="hero")
    playing = runtime.tracker.player("1_playing")
    playing.play(position=0.0)
    runtime.button("cta:register-now")
    runtime.button("cta:details", entry_id="1_idle")
    before, during, named = _track(runtime)
    assert "sessionId" not in before and (before["buttonValue"], before["buttonInfo"]) == ("spring-summit", "hero")
    assert (during["sessionId"], during["entryId"]) == (playing.session_id, "1_playing")
    assert (named["sessionId"], named["entryId"]) == (idle.session_id, "1_idle")
    assert {c["userId"] for c in (before, during, named)} == {USER}


def test_a_share_click_keeps_sending_open_viral_in_the_clicked_session():
    """A share button's click carries the session in which its OPEN_VIRAL beacon is sent."""
    runtime = _runtime()
    player = runtime.tracker.player("1_entry")
    runtime.button("share:share-video", entry_id="1_entry", value="x")
    (click,) = _track(runtime)
    viral = [r for r in runtime.tracker.queued() if r["k"] == STATS and r["e"] == 9]
    assert click["sessionId"] == player.session_id == viral[0]["s"] and click["buttonValue"] == "x"


class SnippetQueue(list):
    """window.kalturaWebQueue as the early-event snippet leaves it."""

    t0 = 1_700_000_000.0
    dropped = 0

    @property
    def length(self):
        return len(self)

    @length.setter
    def length(self, n):
        del self[n:]


class Raw:
    def __init__(self, **values):
        self.__dict__.update(values)


def test_an_early_click_is_replayed_with_its_value_and_info():
    """A click the snippet recorded before the SDK started is replayed with the button's value and info."""
    button = Element(data_kaltura_button="cta:register-now", data_kaltura_button_value="spring-summit",
                     data_kaltura_button_info="hero")
    window = Raw(kalturaWebQueue=SnippetQueue([Raw(type="click", t=1_700_000_001.5, button="cta:register-now",
                                                   entryId=None, el=button)]))
    early = early_mod.take(window)
    runtime = _runtime(userId=USER)
    assert early_mod.replay(runtime, early) == 1
    (click,) = _track(runtime)
    assert (click["buttonName"], click["buttonValue"], click["buttonInfo"]) == ("register-now", "spring-summit", "hero")
    assert early_mod.button_extras(Element(data_kaltura_button="cta:x")) == (None, None)
