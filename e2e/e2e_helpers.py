"""Assertions shared by the e2e tests (imported as ``e2e_helpers``, like tests/collector/collector_helpers)."""

from kaltura_web.catalog import STATS_TYPE_BY_NAME as T


def types(events):
    """The event types of stored events, in arrival order."""
    return [e["event_type"] for e in events]


def assert_stored_once(kc):
    ids = [e["beacon_id"] for e in kc.events()]
    assert len(ids) == len(set(ids)), "a beacon was stored twice"


def assert_clicks_survived_reload(kc, old_session):
    """The portal's CTA/share/download clicks from before a reload arrive once, with both PageLoads."""
    old = kc.wait_for_events(session_id=old_session, timeout=30,
                             predicate=lambda evs: T["OPEN_DOWNLOAD"] in types(evs))
    assert [t for t in types(old) if t != T["MEDIA_LOADED"]] == \
        [T["WIDGET_LOADED"], T["OPEN_VIRAL"], T["OPEN_DOWNLOAD"]]
    track = kc.wait_for_events(5, service="analytics", timeout=30)
    names = [e["fields"].get("buttonName") for e in track if e["event_type"] == 10002]
    assert names == ["register-now", "share-lobby-video", "download-lobby-video"]
    assert types(track).count(10003) == 2  # the first load's and the reload's PageLoad
    assert_stored_once(kc)
