"""Delivery from the page: offline, reloads, collector failures, KS refresh."""

from e2e_helpers import assert_clicks_survived_reload, assert_stored_once, types, wait_until

FULL = ["WIDGET_LOADED", "MEDIA_LOADED", "PLAY", "PLAY_REACHED_25", "PLAY_REACHED_50",
        "PLAY_REACHED_75", "PLAY_REACHED_100"]


def test_offline_part_of_playback(kw_pages, kaltura_collector):
    """Offline for part of a playback, then online: every beacon arrives, in order, stored once."""
    kc = kaltura_collector
    p = kw_pages("/web/portal.html")
    p.wait_video("v.buffered.length && v.buffered.end(0) >= v.duration - 0.1", "the whole video to be buffered")
    p.video("v.play();")
    p.wait_sdk_event("PLAY")
    kc.wait_for_events(3, session_id=p.sdk_events("PLAY")[0]["sessionId"])
    p.context.set_offline(True)
    p.wait_video("v.ended", "the video to end")
    p.page.click("#cta")
    p.wait_queued(">= 5", "25/50/75/100 and the click in localStorage")
    p.context.set_offline(False)
    sid = p.sdk_events("PLAY")[0]["sessionId"]
    kc.wait_for_events(7, session_id=sid, timeout=20)
    kc.assert_session(sid, FULL)
    track = kc.wait_for_events(2, service="analytics")
    assert types(track) == [10003, 10002]
    assert_stored_once(kc)
    p.wait_queued("=== 0", "the queue to drain")
    assert kc.verify() == []


def test_backlog_survives_reload(kw_pages, kaltura_collector):
    """Queued offline, online with every request failing, reload, collector recovers: the backlog from before the reload arrives once."""
    kc = kaltura_collector
    p = kw_pages("/web/portal.html")
    old_session = p.wait_ready()["players"][0]["sessionId"]
    kc.wait_for_events(2)  # WIDGET_LOADED and PageLoad of the first load
    p.context.set_offline(True)
    for button in ("#cta", "#share", "#download"):
        p.page.click(button)
    assert p.queued_in_storage() == 5
    kc.faults.fail_all()
    p.context.set_offline(False)
    wait_until(lambda: kc.faults.applied.get("total", 0), "a send failing at the collector")
    p.reload()  # pagehide flush meets 500s too; the records stay queued
    kc.faults.clear()
    assert_clicks_survived_reload(kc, old_session)
    assert all(e["user_id"] == "viewer@example.com" for e in kc.events())
    assert kc.verify() == []


def test_collector_fails_next_five(kw_pages, kaltura_collector):
    """The collector answers 500 to the next 5 requests: everything still arrives, in order, stored once."""
    kc = kaltura_collector
    kc.faults.fail_next(5)
    p = kw_pages("/web/player.html")
    p.wait_sdk_event("WIDGET_LOADED")
    p.video("v.playbackRate = 2; v.play();")
    p.wait_video("v.ended", "the video to end")
    sid = p.sdk_events("PLAY")[0]["sessionId"]
    kc.wait_for_events(7, session_id=sid, timeout=30)
    kc.assert_session(sid, FULL)
    kc.wait_for_events(1, service="analytics")
    assert kc.faults.applied.get("total") == 5
    assert_stored_once(kc)
    assert kc.verify() == []


def test_invalid_ks_refreshes_once(kw_pages, kaltura_collector):
    """INVALID_KS: the KS provider is asked once more and the backlog goes out with the new KS."""
    kc = kaltura_collector
    kc.faults.invalid_ks_next(1)
    p = kw_pages("/web/portal.html")
    p.page.click("#cta")
    evs = kc.wait_for_events(timeout=20, predicate=lambda evs: {1, 10002, 10003} <= set(types(evs)))
    assert kc.faults.applied.get("invalid_ks") == 1
    # the page's own record of its fetches (Playwright's request events arrive only during its calls)
    ks_requests = p.page.evaluate("performance.getEntriesByType('resource').map(e => e.name)"
                                  ".filter(n => n.includes('/dev/ks'))")
    assert len(ks_requests) == 2, ks_requests  # the start-up KS and one refresh
    assert all(e["user_id"] == "viewer@example.com" and e["app_id"] == "portal-demo" for e in evs)
    assert_stored_once(kc)
    assert kc.verify() == []
