"""README's page examples (portal, custom player) served as written into Chromium.

Each marked HTML block (tests/readme.py) is answered, byte for byte, for a page URL of the
local collector (Playwright's request routing), so everything it loads (PyScript, Pyodide,
the wheel, /dev/ks) comes from the collector exactly as for the repository's own pages.
"""

from e2e_helpers import assert_stored_once
from tests.readme import example


def run_example(kw_pages, name, path, click):
    """Open the README example ``name`` at ``path``, click ``click`` once the video is
    reported, then play the video to its end; returns the page."""
    html = example(name)

    def serve(p):
        p.page.route("**" + path, lambda route: route.fulfill(
            status=200, content_type="text/html; charset=utf-8", body=html))

    p = kw_pages(path, setup=serve)
    p.wait_sdk_event("WIDGET_LOADED")
    p.page.click(click)
    p.video("v.playbackRate = 2; v.play();")
    p.wait_video("v.ended", "the video to end")
    return p


def test_readme_custom_player_reports_playback_and_share(kw_pages, kaltura_collector):
    """The custom-player example reports its video's lifecycle and OPEN_VIRAL from its Python click handler."""
    kc = kaltura_collector
    path = "/web/readme-custom-player.html"
    run_example(kw_pages, "custom-player", path, click="#share")
    sid = kc.wait_for_events(event_type="OPEN_VIRAL", timeout=20)[0]["session_id"]
    events = kc.wait_for_session(sid, starts_with=["WIDGET_LOADED"], timeout=30,
                                 contains=["OPEN_VIRAL", "PLAY", "PLAY_REACHED_25", "PLAY_REACHED_100"])
    assert {(e["fields"]["entryId"], e["user_id"], e["app_id"]) for e in events} == \
        {("0_custom01", "viewer@example.com", "player-demo")}
    assert all(e["fields"]["referrer"] == kc.base_url + path for e in events)
    page_load = kc.wait_for_events(event_type="PageLoad")[0]
    assert page_load["fields"]["kalturaApplication"] == "player-demo"
    assert_stored_once(kc)
    assert kc.verify() == []


def test_readme_portal_page_reports_by_itself(kw_pages, kaltura_collector):
    """The portal example reports its PageLoad, a button click and a full playback with no code of its own."""
    kc = kaltura_collector
    path = "/web/readme-portal.html"
    run_example(kw_pages, "portal-page", path, click="[data-kaltura-button='cta:register-now']")
    play = kc.wait_for_events(event_type="PLAY", timeout=20)[0]
    kc.wait_for_session(play["session_id"], starts_with=["WIDGET_LOADED", "MEDIA_LOADED", "PLAY"],
                        contains=["PLAY_REACHED_100"], timeout=30)
    assert play["fields"]["entryId"] == "0_lobby001"
    page_load = kc.wait_for_events(event_type="PageLoad")[0]["fields"]
    assert (page_load["pageType"], page_load["pageName"], page_load["kalturaApplication"]) == \
        ("lobby", "main-lobby", "events-portal")
    click = kc.wait_for_events(event_type="ButtonClicked")[0]["fields"]
    assert (click["buttonType"], click["buttonName"]) == ("cta", "register-now")
    assert_stored_once(kc)
    assert kc.verify() == []
