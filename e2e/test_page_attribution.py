"""Attribution on the portal page (userId, kalturaApplicationVer, a button with value and info):
the collector stores the user on every stats.collect and trackEvent event, and a click carries
the playback session of the video that is playing."""

from kaltura_web.core.catalog import STATS_TYPE_BY_NAME as T
from e2e_helpers import types, wait_in_page
from test_early_events import hold_wheel, release

USER = "viewer@example.com"


def _assert_attributed(stats, track):
    """Every event is stored as the page's user and application, carrying event[userId] itself."""
    for e in stats + track:
        assert (e["user_id"], e["app_id"], e["fields"]["userId"]) == (USER, "portal-demo", USER), e
    assert {(e["fields"]["uiconfId"], e["fields"]["applicationId"]) for e in stats} == {("23448", "portal-demo")}
    assert {e["fields"]["kalturaApplicationVer"] for e in track} == {"1.4.0"}


def test_portal_attributes_every_event_and_the_click_to_the_playing_session(kw_pages, kaltura_collector):
    """PageLoad has pageValue/pageInfo, the CTA click made while the video plays carries its session id, value and info; every event is the configured user's."""
    kc = kaltura_collector
    p = kw_pages("/web/portal.html")
    p.video("v.play();")
    play = p.wait_sdk_event("PLAY")[0]
    p.page.click("#cta")
    track = kc.wait_for_events(2, service="analytics")
    stats = kc.wait_for_events(3, session_id=play["sessionId"], service="stats")
    assert types(stats)[:3] == [T["WIDGET_LOADED"], T["MEDIA_LOADED"], T["PLAY"]]
    load, click = track
    assert (load["fields"]["pageValue"], load["fields"]["pageInfo"]) == ("spring-summit", "day-1")
    assert "sessionId" not in load["fields"]  # the page loaded before any playback
    assert (click["session_id"], click["fields"]["entryId"]) == (play["sessionId"], "0_lobby001")
    assert (click["fields"]["buttonValue"], click["fields"]["buttonInfo"]) == ("spring-summit", "hero")
    _assert_attributed(stats, track)
    assert kc.verify() == []


def test_an_early_click_is_replayed_with_its_value_info_and_session(kw_pages, kaltura_collector):
    """A CTA click recorded by the inline snippet while the video played, before the SDK was ready, keeps its value, info and playback session."""
    kc = kaltura_collector
    held = []
    p = kw_pages("/web/portal.html", wait_ready=False, setup=hold_wheel(held))
    wait_in_page(p.page, "window.kalturaWebQueue !== undefined", "the inline snippet's queue")
    p.video("v.play();")
    p.wait_video("v.currentTime > 0.2", "playback to pass 0.2 s")
    p.page.evaluate("() => document.querySelector('#cta').click()")
    release(p, held)
    session = p.wait_ready()["players"][0]["sessionId"]
    load, click = kc.wait_for_events(2, service="analytics")
    assert (click["fields"]["buttonName"], click["fields"]["buttonValue"], click["fields"]["buttonInfo"]) == \
        ("register-now", "spring-summit", "hero")
    assert click["session_id"] == session
    stats = kc.wait_for_events(3, session_id=session, service="stats")
    _assert_attributed(stats, [load, click])
