"""README's KAVA portal example, as written, against Kaltura's production URLs.

The page has no serviceUrl/analyticsUrl, so the SDK posts to https://analytics.kaltura.com
as it would for a customer; Playwright routes those requests to the local collector (a
measuring instrument that answers as Kaltura does), and the stored stream is held against
reference.md section 3: ids in order, eventIndex 1..n, VIEW right after PLAY and every 10 s
of playing, one session id, the user on every event.
"""

from e2e_helpers import assert_stored_once
from tests.readme import example

PATH = "/web/readme-portal-kava.html"
PRODUCTION = ("https://analytics.kaltura.com/", "https://www.kaltura.com/")


def _route_production(p, routed, html=None):
    """Serve the README example (or ``html``) at PATH and send Kaltura's production hosts to the collector."""
    html = html or example("portal-kava")
    p.page.route("**" + PATH, lambda route: route.fulfill(
        status=200, content_type="text/html; charset=utf-8", body=html))

    def to_collector(route):
        url = route.request.url
        local = p.base + "/" + url.split("/", 3)[3]
        routed.append(url)
        route.fulfill(response=route.fetch(url=local))

    for host in PRODUCTION:
        p.page.route(host + "**", to_collector)


def test_readme_kava_portal_reports_a_full_playback_as_player_v7_does(kw_pages, kaltura_collector):
    """The README's "protocol": "kava" snippet sends IMPRESSION, PLAY_REQUEST, PLAY+VIEW, quartiles, VIEWs every 10 s and PAUSE to analytics.kaltura.com."""
    kc = kaltura_collector
    routed = []
    p = kw_pages(PATH, setup=lambda page: _route_production(page, routed))
    p.video("v.play();")
    p.wait_video("v.ended", "the 25-s clip to end", timeout=60_000)
    # wait in the page: Playwright runs the production routes only while it is called
    p.wait_queued("== 0", "the page's queue to drain through the routed production URLs")
    events = kc.wait_for_events(predicate=lambda evs: 33 in [e["event_type"] for e in evs],
                                service="analytics", timeout=5)
    kava = [e for e in events if e["event_type"] < 10000]
    ids = [e["event_type"] for e in kava]
    assert ids[:4] == [1, 2, 3, 99], ids
    assert ids[-2:] == [14, 33], ids
    assert [i for i in ids if 11 <= i <= 15] == [11, 12, 13, 15, 14], ids
    assert ids.count(99) == 3, ids  # at PLAY, then after 10 and 20 s of playing
    assert kc.events(service="stats") == []  # KAVA mode sends no stats.collect
    assert [int(e["fields"]["eventIndex"]) for e in kava] == list(range(1, len(kava) + 1))
    assert len({e["session_id"] for e in kava}) == 1 and ":" in kava[0]["session_id"]
    views = [e for e in kava if e["event_type"] == 99]
    sums = [float(v["fields"]["playTimeSum"]) for v in views]
    assert sums[0] < 0.5 and 9 <= sums[1] <= 11.5 and 19 <= sums[2] <= 21.5, sums
    for view in views:
        assert {"bufferTime", "bufferTimeSum", "soundMode", "tabMode", "screenMode"} <= set(view["fields"])
        assert (view["fields"]["soundMode"], view["fields"]["tabMode"]) == ("1", "2")  # muted, visible
    for e in kava:
        assert (e["user_id"], e["fields"]["userId"], e["fields"]["uiConfId"]) == \
            ("viewer@example.com", "viewer@example.com", "23448"), e
        assert e["fields"]["referrer"] == kc.base_url + PATH
    assert "sessionStartTime" in kava[-1]["fields"]  # from the first answer
    # every beacon went to the production analytics URL, KAVA ones with their ids in the query string
    p.foreign[:] = [u for u in p.foreign if u not in routed]
    track = "https://analytics.kaltura.com/api_v3/index.php?service=analytics&action=trackEvent"
    assert routed and all(u.startswith(track) for u in routed), routed
    assert len([u for u in routed if u.startswith(track + "&eventType=")]) == len(kava)
    assert_stored_once(kc)
    assert kc.verify() == []


def test_protocol_both_reports_the_guide_lifecycle_and_kava_for_one_playback(kw_pages, kaltura_collector):
    """With "protocol": "both" one playback is stats.collect 1-7 to www.kaltura.com and KAVA to analytics.kaltura.com."""
    kc = kaltura_collector
    routed = []
    html = example("portal-kava").replace('"protocol": "kava"', '"protocol": "both"').replace("kava.webm", "test.webm")
    p = kw_pages(PATH, setup=lambda page: _route_production(page, routed, html))
    p.video("v.playbackRate = 2; v.play();")
    p.wait_video("v.ended", "the 4-s clip to end")
    p.wait_queued("== 0", "the page's queue to drain through the routed production URLs")
    p.foreign[:] = [u for u in p.foreign if u not in routed]
    stats = kc.events(service="stats")
    assert [e["event_type"] for e in stats] == [1, 2, 3, 4, 5, 6, 7]
    kava = [e for e in kc.events(service="analytics") if e["event_type"] < 10000]
    # the rate is set before play(): SPEED (41) comes between IMPRESSION and PLAY_REQUEST
    assert [e["event_type"] for e in kava] == [1, 41, 2, 3, 99, 11, 12, 13, 15, 14, 33]
    assert kava[1]["fields"]["playbackSpeed"] == "2"
    assert kava[0]["session_id"].endswith(":" + stats[0]["session_id"])  # one playback, two protocols
    assert any(u.startswith("https://www.kaltura.com/api_v3/service/") for u in routed), routed
    assert_stored_once(kc)
    assert kc.verify() == []
