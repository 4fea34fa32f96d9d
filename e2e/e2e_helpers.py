"""Waits and assertions shared by the e2e tests (imported as ``e2e_helpers``, like
tests/collector/collector_helpers).

Every wait here fails with a message naming what it waited for and what it saw last, so
a condition that never comes is a failure, never a silent fall-through. The tests use no
fixed sleeps: the only pause is the poll interval inside ``wait_until`` (and
``wait_clock_past`` for the tests whose claim is a gap of time)."""

import time
import urllib.parse

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from kaltura_web.core.catalog import STATS_TYPE_BY_NAME as T

POLL_SECONDS = 0.02
PAGE_TIMEOUT = 20_000  # ms, for conditions in a page
# records waiting in localStorage: one key each, <ns>:q:<queue>:<seq>.<tab> (docs/storage.md)
QUEUED = "Object.keys(localStorage).filter(k => k.includes(':q:')).length"
VIDEO_STATE = ("s => { const v = document.querySelector(s); return v && {currentTime: v.currentTime, "
               "duration: v.duration, paused: v.paused, ended: v.ended, readyState: v.readyState}; }")


def types(events):
    """The event types of stored events, in arrival order."""
    return [e["event_type"] for e in events]


def wait_until(read, what, until=bool, timeout=10.0, clock=time.monotonic, sleep=time.sleep):
    """Poll ``read()`` until ``until(value)`` holds and return that value; after ``timeout``
    seconds fail with an AssertionError naming ``what`` and the last value read.
    (``clock`` and ``sleep`` are injectable for the helper's own tests.)"""
    deadline = clock() + timeout
    while True:
        value = read()
        if until(value):
            return value
        if clock() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}; last saw {value!r}")
        sleep(POLL_SECONDS)


def _observe(page, expression, arg):
    try:
        return page.evaluate(expression) if arg is None else page.evaluate(expression, arg)
    except PlaywrightError as exc:
        return f"<unreadable: {exc}>"


def wait_in_page(page, predicate, what, arg=None, observe=None, timeout=PAGE_TIMEOUT):
    """Wait until the JavaScript ``predicate`` (an expression, or a function of ``arg``) is
    truthy in ``page``; else fail naming ``what`` and the value of ``observe`` (JavaScript,
    by default the predicate itself) at the timeout."""
    try:
        page.wait_for_function(predicate, arg=arg, timeout=timeout)
    except PlaywrightTimeoutError:
        seen = _observe(page, observe or predicate, arg)
        raise AssertionError(f"timed out after {timeout / 1000:g} s waiting for {what}; "
                             f"the page shows {seen!r}") from None


def wait_video(page, condition, what, selector="video", timeout=PAGE_TIMEOUT):
    """Wait until ``condition`` (JavaScript over the video element ``v``) holds; a failure
    shows the video's time, duration and state."""
    predicate = f"s => {{ const v = document.querySelector(s); return !!v && ({condition}); }}"
    wait_in_page(page, predicate, what, arg=selector, observe=VIDEO_STATE, timeout=timeout)


def queued(page):
    """How many records wait in the page's localStorage queue."""
    return page.evaluate(QUEUED)


def _queued_field(page, key):
    return page.evaluate("k => Object.keys(localStorage).filter(q => q.includes(':q:'))"
                         ".map(q => JSON.parse(localStorage.getItem(q))[k])", key)


def queued_ids(page):
    """The beacon ids of the records queued in the page's localStorage."""
    return _queued_field(page, "i")


def queued_types(page):
    """The event types of the records queued in the page's localStorage."""
    return _queued_field(page, "e")


def wait_queued(page, comparison, what, timeout=PAGE_TIMEOUT):
    """Wait until the number of queued records satisfies ``comparison`` (``">= 5"``, ``"=== 0"``)."""
    wait_in_page(page, f"({QUEUED}) {comparison}", what, observe=QUEUED, timeout=timeout)


def wait_clock_past(page, epoch_seconds, what):
    """Wait until the page's own clock (``Date.now()``) has passed ``epoch_seconds``: for
    tests whose claim needs a gap of time between two moments, not for synchronisation."""
    wait_in_page(page, "t => Date.now() / 1000 > t", what, arg=epoch_seconds, observe="Date.now() / 1000")


def beacon_ids(request):
    """The beacon ids a collection request carries (stats.collect, multirequest or trackEvent)."""
    pairs = urllib.parse.parse_qsl(request.post_data or "")
    return [v for k, v in pairs if k.endswith(("beaconId", "beaconId]"))]


class Requests:
    """The collection requests of a browser context (or page), with their beacon ids, the
    page that made them and whether they finished (an answer was read) or failed.
    Playwright delivers these events during its own calls: read them after one."""

    def __init__(self, target):
        self.made = {}  # request -> [page, beacon ids, "in flight" | "finished" | "failed"]
        target.on("request", self._on_request)
        target.on("requestfinished", lambda r: self._settle(r, "finished"))
        target.on("requestfailed", lambda r: self._settle(r, "failed"))

    def _on_request(self, request):
        ids = beacon_ids(request) if request.method == "POST" else []
        if ids:
            try:
                page = request.frame.page
            except PlaywrightError:
                page = None
            self.made[request] = [page, ids, "in flight"]

    def _settle(self, request, state):
        if request in self.made:
            self.made[request][2] = state

    def in_flight(self, page=None):
        """The requests (of ``page``) that have neither finished nor failed yet."""
        return [r for r, (p, _ids, s) in self.made.items() if s == "in flight" and (page is None or p is page)]

    def state(self, request):
        return self.made[request][2]

    def ids(self, page=None, state=None):
        """Beacon ids of the requests made (by ``page``, in ``state``), in request order."""
        return [i for p, ids, s in self.made.values()
                if (page is None or p is page) and (state is None or s == state) for i in ids]


def assert_stored_once(kc, may_repeat=()):
    """Every stored event has a beacon id and none reached the collector more than once,
    except those in ``may_repeat`` (a re-send the test provokes): the plugin's
    ``assert_stored_once``, which reads the repeats the collector stored."""
    kc.assert_stored_once(may_repeat)


def assert_clicks_survived_reload(kc, old_session):
    """The portal's CTA/share/download clicks from before a reload arrive once, with both PageLoads."""
    old = kc.wait_for_events(session_id=old_session, service="stats", timeout=30,
                             predicate=lambda evs: T["OPEN_DOWNLOAD"] in types(evs))
    assert [t for t in types(old) if t != T["MEDIA_LOADED"]] == \
        [T["WIDGET_LOADED"], T["OPEN_VIRAL"], T["OPEN_DOWNLOAD"]]
    track = kc.wait_for_events(5, service="analytics", timeout=30)
    names = [e["fields"].get("buttonName") for e in track if e["event_type"] == 10002]
    assert names == ["register-now", "share-lobby-video", "download-lobby-video"]
    assert types(track).count(10003) == 2  # the first load's and the reload's PageLoad
    assert_stored_once(kc)
