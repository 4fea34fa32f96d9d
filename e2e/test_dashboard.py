"""The collector dashboard in Chromium: events sent with plain HTTP appear live, without a reload."""

import json
import os
import urllib.parse
import urllib.request
from pathlib import Path

from playwright.sync_api import expect

from e2e_helpers import wait_in_page

# docs/dashboard.png is rewritten only on request, so test runs leave the work tree clean
DOCS_SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "dashboard.png"
UPDATE_SCREENSHOT = os.environ.get("KALTURA_WEB_UPDATE_SCREENSHOT") == "1"
T = 1700000000
# event-stream rows whose new-row highlight (a CSS animation) is still running
ROWS_FLASHING = "[...document.querySelectorAll('#event-stream tr')].filter(r => r.getAnimations().length).length"


def collect(kc, ks, session, entry, event_type, t, point=0, duration=100):
    data = urllib.parse.urlencode({
        "ks": ks, "format": "1", "event[objectType]": "KalturaStatsEvent",
        "event[partnerId]": kc.partner_id, "event[entryId]": entry, "event[eventType]": event_type,
        "event[sessionId]": session, "event[eventTimestamp]": t, "event[currentPoint]": point,
        "event[duration]": duration}).encode()
    with urllib.request.urlopen(kc.service_url + "/service/stats/action/collect", data, timeout=5) as r:
        assert r.read() == b"null"


def track(kc, ks, app, event_type, **fields):
    data = urllib.parse.urlencode({"ks": ks, "format": "1", "partnerId": kc.partner_id,
                                   "eventType": event_type, "kalturaApplication": app, **fields}).encode()
    url = kc.analytics_url + "/api_v3/index.php?service=analytics&action=trackEvent"
    with urllib.request.urlopen(url, data, timeout=5) as r:
        assert "time" in json.loads(r.read())


def funnel_value(page, step):
    return page.locator(f'#funnel text.value[data-step="{step}"]')


def open_dashboard(page, kc):
    page.goto(kc.base_url + "/")
    expect(page.locator("#status")).to_have_attribute("data-state", "live")


def test_dashboard_shows_events_live(page, kaltura_collector, tmp_path):
    """Events POSTed with urllib show up in the stream, the sessions and the funnel without a reload."""
    kc = kaltura_collector
    page.set_viewport_size({"width": 1280, "height": 1000})
    open_dashboard(page, kc)
    expect(page.locator("#event-stream tr")).to_have_count(0)

    alice = kc.ks("alice@example.com", app_id="events-portal")
    bob = kc.ks("bob@example.com", app_id="events-portal")
    kiosk = kc.ks("kiosk-001@example.com", app_id="lobby-kiosk")
    track(kc, alice, "events-portal", 10003, pageType="lobby", pageName="main-lobby", entryId="0_keynote")
    for i, (kind, point) in enumerate([(1, 0), (2, 0), (3, 0), (4, 25), (5, 50), (6, 75), (7, 100)]):
        collect(kc, alice, "alice-1", "0_keynote", kind, T + i * 10, point)
    track(kc, bob, "events-portal", 10002, buttonType="cta", buttonName="register-now", entryId="0_keynote")
    for i, (kind, point) in enumerate([(1, 0), (2, 0), (3, 0), (12, 8), (13, 8), (4, 25), (5, 50)]):
        collect(kc, bob, "bob-1", "0_keynote", kind, T + 100 + i * 10, point)
    for i, (kind, point) in enumerate([(1, 0), (2, 0), (3, 0), (4, 15)]):
        collect(kc, kiosk, "kiosk-1", "0_sponsor", kind, T + 200 + i * 10, point, duration=60)

    # 18 stats + 2 trackEvent, pushed over SSE
    expect(page.locator("#event-stream tr")).to_have_count(20)
    expect(page.locator("#event-stream tr").first).to_contain_text("PLAY_REACHED_25")
    expect(page.locator("#sessions article.session")).to_have_count(3)
    expect(page.locator('article[data-session="alice-1"] .timeline .tag')).to_have_count(7)
    for step, value in (("loads", "3"), ("plays", "3"), ("25", "3"), ("50", "2"), ("75", "1"), ("100", "1")):
        expect(funnel_value(page, step)).to_have_text(value)
    expect(page.locator("#kpi-pages")).to_have_text("1")
    expect(page.locator("#kpi-clicks")).to_have_text("1")
    expect(page.locator("#kpi-buffers")).to_have_text("1")

    # filter by application, then by entry
    page.select_option("#filter-app", "lobby-kiosk")
    expect(funnel_value(page, "plays")).to_have_text("1")
    expect(funnel_value(page, "50")).to_have_text("0")
    expect(page.locator("#sessions article.session")).to_have_count(1)
    page.select_option("#filter-app", "")
    page.select_option("#filter-entry", "0_keynote")
    expect(funnel_value(page, "plays")).to_have_text("2")
    expect(funnel_value(page, "100")).to_have_text("1")
    page.select_option("#filter-entry", "")
    expect(funnel_value(page, "plays")).to_have_text("3")

    # a linter finding arrives live too: a quartile that repeats
    collect(kc, kiosk, "kiosk-1", "0_sponsor", 4, T + 300, 16, duration=60)
    expect(page.locator('#findings li[data-rule="quartile-duplicate"]')).to_have_count(1)
    expect(page.locator("#kpi-findings")).to_have_text("1")

    wait_in_page(page, f"({ROWS_FLASHING}) === 0", "the new-row highlight to fade before the picture",
                 observe=ROWS_FLASHING)
    target = DOCS_SCREENSHOT if UPDATE_SCREENSHOT else tmp_path / "dashboard.png"
    page.screenshot(path=str(target), full_page=True)
    assert target.stat().st_size > 10_000


def test_dashboard_watches_portal_playback(kw_pages, page, kaltura_collector):
    """Playing the portal demo video in one page fills the dashboard's funnel in another."""
    open_dashboard(page, kaltura_collector)
    portal = kw_pages("/web/portal.html")
    portal.wait_sdk_event("WIDGET_LOADED")
    portal.video("v.playbackRate = 2.0; v.play();")
    portal.wait_video("v.ended", "the portal video to end")
    for step in ("plays", "25", "50", "75", "100"):
        expect(funnel_value(page, step)).to_have_text("1", timeout=15_000)
    expect(page.locator("#event-stream")).to_contain_text("PageLoad lobby")
    expect(page.locator("#sessions article.session")).to_have_count(1)
    expect(page.locator("#sessions article.session header")).to_contain_text("0_lobby001")
    expect(page.locator("#kpi-findings")).to_have_text("0")
