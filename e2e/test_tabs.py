"""Several tabs of one origin and user: one shared queue, one sender tab, no beacon sent twice."""

import urllib.parse

PAGE = "/web/pyodide.html"


def beacon_ids(request):
    body = request.post_data or ""
    return [v for k, v in urllib.parse.parse_qsl(body) if k.endswith("beaconId") or k.endswith("beaconId]")]


class Sent:
    """Beacon ids of every finished collection request, by page."""

    def __init__(self, context):
        self.by_page = []
        context.on("requestfinished", self._on)

    def _on(self, request):
        if "/dev/ks" in request.url or request.method != "POST":
            return
        ids = beacon_ids(request)
        if ids:
            try:
                page = request.frame.page
            except Exception:
                page = None
            self.by_page.append((page, ids))

    def ids(self, page=None):
        return [i for p, ids in self.by_page if page is None or p is page for i in ids]


def py(page, expr):
    return page.evaluate("e => window.pyodide.runPython(e)", expr)


def tab_status(page):
    return page.evaluate("""() => { const s = window.pyodide.runPython(
        "import json\\nfrom kaltura_web.browser import current\\njson.dumps(current().tracker.tabs.status())");
        return JSON.parse(s); }""")


def open_second_tab(p):
    page2 = p.context.new_page()
    page2.on("pageerror", lambda exc: p.errors.append(str(exc)))
    page2.goto(p.base + PAGE)
    page2.wait_for_function("window.__kwReady !== null", timeout=60_000)
    return page2


def queued_keys(page):
    return page.evaluate("Object.keys(localStorage).filter(k => k.includes(':q:')).length")


def test_two_tabs_offline_online_each_beacon_once(kw_pages, kaltura_collector):
    """Two tabs play and click, go offline and online together: every beacon reaches the
    collector once, and only one tab ever sends."""
    kc = kaltura_collector
    p = kw_pages(PAGE, wait_ready=False)
    sent = Sent(p.context)
    p.wait_ready()
    page1 = p.page
    page2 = open_second_tab(p)
    page1.wait_for_function("window.pyodide.runPython('from kaltura_web.browser import current\\n"
                            "current().tracker.tabs.is_sender')", timeout=10_000)
    assert tab_status(page1)["sender"] is True
    assert tab_status(page2)["sender"] is False
    assert tab_status(page1)["mode"] == "locks"
    kc.wait_for_events(4)  # WIDGET_LOADED and PageLoad of both tabs
    for page in (page1, page2):
        page.click("#cta")
    p.context.set_offline(True)
    for page in (page1, page2):
        page.evaluate("document.querySelector('video').play()")
    for page in (page1, page2):
        page.wait_for_function("document.querySelector('video').ended", timeout=30_000)
        page.click("#share")
        page.click("#download")
    page1.wait_for_function("Object.keys(localStorage).filter(k => k.includes(':q:')).length >= 10")
    p.context.set_offline(False)
    page1.wait_for_function("Object.keys(localStorage).filter(k => k.includes(':q:')).length === 0",
                            timeout=30_000)
    events = kc.events()
    clicks = [e for e in events if e["event_type"] == 10002]
    assert len(clicks) == 6  # cta, share, download in each tab
    assert len([e for e in events if e["event_type"] == 10003]) == 2
    assert len({e["session_id"] for e in events if e["service"] != "analytics"}) == 2
    ids = sent.ids()
    assert len(ids) == len(set(ids)), "a beacon was sent twice"
    assert set(ids) == {e["beacon_id"] for e in events}
    assert sent.ids(page2) == [], "the non-sender tab sent beacons"
    assert tab_status(page1)["adopted"] >= 5  # tab 2's records reached tab 1 through storage events
    assert kc.verify() == []


def test_closing_the_sender_mid_backlog_other_tab_finishes(kw_pages, kaltura_collector):
    """The sending tab closes while its backlog is being sent (slow collector): the other
    tab becomes the sender, re-sends what was left and every beacon is stored once."""
    kc = kaltura_collector
    p = kw_pages(PAGE, wait_ready=False)
    sent = Sent(p.context)
    p.wait_ready()
    page1 = p.page
    page2 = open_second_tab(p)
    kc.wait_for_events(4)
    p.context.set_offline(True)
    for _ in range(4):
        for page in (page1, page2):
            page.click("#cta")
            page.click("#share")
    page2.wait_for_function("Object.keys(localStorage).filter(k => k.includes(':q:')).length >= 16")
    assert tab_status(page2)["sender"] is False
    kc.faults.delay(1500)
    p.context.set_offline(False)
    for _ in range(200):  # until tab 1 has a request out
        if p.page.evaluate("performance.getEntriesByType('resource').length") and \
                page1.evaluate("window.pyodide.runPython('from kaltura_web.browser import current\\n"
                               "current().sender._running')"):
            break
        page1.wait_for_timeout(20)
    page1.wait_for_timeout(300)
    page1.close()
    page2.wait_for_function("window.pyodide.runPython('from kaltura_web.browser import current\\n"
                            "current().tracker.tabs.is_sender')", timeout=10_000)
    kc.faults.clear()
    page2.wait_for_function("Object.keys(localStorage).filter(k => k.includes(':q:')).length === 0",
                            timeout=30_000)
    events = kc.events()
    assert len([e for e in events if e["event_type"] == 10002]) == 16  # 8 clicks per tab
    assert len([e for e in events if e["service"] == "stats" and e["event_type"] == 9]) == 8  # OPEN_VIRAL
    ids = [e["beacon_id"] for e in events]
    assert len(ids) == len(set(ids))
    assert sent.ids(page2), "the remaining tab did not send"
    assert kc.verify() == []
