"""Consent, erasure and anonymous mode in Chromium, on a page generated here (the early-event
snippet from web/kaltura-snippet.js, the configuration, a video and a CTA button).

The acceptance: with consent pending no request of the SDK leaves the page and localStorage
holds nothing of it; after granting, the full playback arrives in order, once; after denying,
storage is empty and nothing is ever sent.  Then each state change across a reload (pending is
not remembered, granted is), across two tabs (a grant, an erase and a denial in one tab reach
the other), Global Privacy Control, the consent event recorded by the snippet before the SDK
started, and "anonymous": true."""

import json
import re
from pathlib import Path

import pytest

from kaltura_web.core.catalog import STATS_TYPE_BY_NAME as T
from e2e_helpers import assert_stored_once, types, wait_in_page, wait_queued, wait_until
from tests.readme import example

ROOT = Path(__file__).resolve().parent.parent
PATH = "/web/consent.html"
ROUTE = re.compile(r"/web/consent\.html(\?.*)?$")
SNIPPET = next(line for line in (ROOT / "web/kaltura-snippet.js").read_text().splitlines()
               if line.startswith("!function(w,d)"))
# the MicroPython page loads the SDK as web/portal-mpy.html does, whatever that is today
MPY_CONFIG = re.search(r"<mpy-config>.*?</mpy-config>", (ROOT / "web/portal-mpy.html").read_text(), re.S).group(0)
PYODIDE = """<script type="module">
  import { loadPyodide } from "/web/node_modules/pyodide/pyodide.mjs";
  const pyodide = await loadPyodide({ indexURL: "/web/node_modules/pyodide/" });
  await pyodide.loadPackage("/web/dist/kaltura_web-0.1.0-py3-none-any.whl");
  window.pyodide = pyodide;
  await pyodide.runPythonAsync("from kaltura_web.browser import start\\nawait start()");
</script>"""
MICROPYTHON = ('<script type="module" src="/web/node_modules/@pyscript/core/dist/core.js"></script>\n'
               + MPY_CONFIG + '\n<script type="mpy">\nimport kaltura_web.browser.auto\n</script>')
FULL = ["WIDGET_LOADED", "MEDIA_LOADED", "PLAY", "PLAY_REACHED_25", "PLAY_REACHED_50", "PLAY_REACHED_75",
        "PLAY_REACHED_100"]
BUFFERING = (T["BUFFER_START"], T["BUFFER_END"])
SDK_KEYS = "Object.keys(localStorage).filter(k => k.startsWith('kaltura_web:')).sort()"
GRANT = "document.dispatchEvent(new CustomEvent('kaltura-web:consent', {detail: {state: 'granted'}}))"
DENY = "document.dispatchEvent(new CustomEvent('kaltura-web:consent', {detail: {state: 'denied'}}))"
CURRENT = "from kaltura_web.browser import current\n"
DIAGNOSTICS = """window.__kwDiag = [];
window.addEventListener('kaltura-web:diagnostic', e => window.__kwDiag.push(e.detail));"""
GPC = "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true});"


def page_config(**extra):
    config = {"partnerId": 100, "serviceUrl": "/api_v3", "analyticsUrl": "/",
              "ksUrl": "/dev/ks?userId=viewer%40example.com&appId=consent-demo", "userId": "viewer@example.com",
              "kalturaApplication": "consent-demo", "consent": "pending"}
    config.update(extra)
    return config


def page_html(config, runtime="py", before_sdk="", head=""):
    """The page: snippet, configuration, a 4-s video and a CTA; ``before_sdk``: a script of the
    page that runs before the SDK starts (a CMP that answers at once); ``head``: more HTML in <head>."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>consent</title><link rel="icon" href="data:,">
<script>{SNIPPET}</script>
<script type="application/json" id="kaltura-web-config">{json.dumps(config)}</script>
{head}
</head><body data-kaltura-page-type="lobby" data-kaltura-page-name="consent">
<video id="v" data-kaltura-entry-id="0_consent01" src="/web/media/test.webm" controls muted playsinline
       preload="auto"></video>
<button id="cta" data-kaltura-button="cta:register-now">Register now</button>
{'<script>' + before_sdk + '</script>' if before_sdk else ''}
{PYODIDE if runtime == "py" else MICROPYTHON}
</body></html>"""


class SdkRequests:
    """The requests of a browser context to the SDK's endpoints: the API (beacons) and the KS URL."""

    def __init__(self, context):
        self.made = []
        context.on("request", self._on_request)

    def _on_request(self, request):
        path = request.url.split("://", 1)[-1].split("/", 1)[-1]
        if path.startswith(("api_v3", "dev/")):
            self.made.append(request.url)

    def beacons(self):
        return [u for u in self.made if "/api_v3" in u]


def serve(html, init=()):
    """A ``kw_pages`` setup: the generated page at PATH for every tab of the context, the SDK's
    requests recorded (``p.sdk_requests``), ``init`` scripts added before anything runs."""
    def setup(p):
        for script in (DIAGNOSTICS, *init):
            p.context.add_init_script(script)
        p.context.route(ROUTE, lambda route: route.fulfill(status=200, content_type="text/html", body=html))
        p.sdk_requests = SdkRequests(p.context)
    return setup


def py(page, code):
    """Run Python in the page's Pyodide (the SDK's runtime) and return the last expression."""
    return page.evaluate("c => window.pyodide.runPython(c)", code)


def sdk_keys(page):
    return page.evaluate(SDK_KEYS)


def consent_of(page):
    return py(page, CURRENT + "current().consent")


def wait_consent(page, state, what):
    wait_in_page(page, "([c, s]) => window.pyodide.runPython(c) === s", what,
                 arg=[CURRENT + "current().consent", state], observe="() => window.pyodide.runPython("
                 + json.dumps(CURRENT + "current().consent") + ")")


def play_to_end(p):
    """Play the 4-s video to its end and wait until the SDK has seen it (its PLAY_REACHED_100)."""
    seen = len(p.sdk_events("PLAY_REACHED_100"))
    p.video("v.currentTime = 0; v.play()")
    p.wait_video("v.ended", "the video to end", timeout=30_000)
    return p.wait_sdk_event("PLAY_REACHED_100", count=seen + 1)[-1]


def assert_full_playback_once(kc, session_id):
    events = kc.wait_for_session(session_id, contains=FULL, timeout=30)
    assert [t for t in types(events) if t not in BUFFERING] == [T[name] for name in FULL]
    assert_stored_once(kc)
    return events


# -- the acceptance -----------------------------------------------------------------------------

@pytest.mark.parametrize("runtime", ["py", "mpy"])
def test_pending_sends_and_stores_nothing_then_granting_sends_the_full_playback_once(
        kw_pages, kaltura_collector, runtime):
    """Consent pending: a full playback and a click leave no request of the SDK (not even for the KS)
    and no key in localStorage; the consent event with "granted" sends the whole playback in order,
    once, with the times it happened, and the click."""
    kc = kaltura_collector
    p = kw_pages(PATH, setup=serve(page_html(page_config(), runtime)))
    reached = play_to_end(p)
    p.page.click("#cta")
    assert p.sdk_requests.made == [], "a request left the page while consent was pending"
    assert sdk_keys(p.page) == [], "the SDK wrote to localStorage while consent was pending"
    assert kc.events() == []
    granted_at = p.page.evaluate("Date.now() / 1000")
    p.page.evaluate(GRANT)
    events = assert_full_playback_once(kc, reached["sessionId"])
    assert all(e["event_timestamp"] < granted_at for e in events), "a beacon took the time of the grant"
    clicks = kc.wait_for_events(predicate=lambda evs: any(e["event_type"] == 10002 for e in evs),
                                service="analytics", timeout=20)
    assert [e["fields"]["buttonName"] for e in clicks if e["event_type"] == 10002] == ["register-now"]
    wait_queued(p.page, "=== 0", "the queue to drain")
    assert sdk_keys(p.page)[-1] == "kaltura_web:consent"  # the grant is remembered on the origin
    assert kc.verify() == []


def test_denying_erases_storage_and_nothing_is_ever_sent(kw_pages, kaltura_collector):
    """After a playback held while pending, the consent event with "denied" empties localStorage (an
    earlier visit's backlog too) and says so in a diagnostic; a second playback, a click and a reload
    send nothing and store nothing; the reloaded page is pending again (a denial is not remembered)."""
    kc = kaltura_collector
    p = kw_pages(PATH, setup=serve(page_html(page_config())))
    p.page.evaluate("localStorage.setItem('kaltura_web:100:viewer@example.com:q:s:0.old', "
                    "JSON.stringify({i: 'old', e: 3, t: 1700000000})); localStorage.setItem('site-theme', 'dark')")
    play_to_end(p)
    p.page.evaluate(DENY)
    assert consent_of(p.page) == "denied" and sdk_keys(p.page) == []
    assert p.page.evaluate("localStorage.getItem('site-theme')") == "dark"
    denied = [d for d in p.page.evaluate("window.__kwDiag") if d["code"] == "consent-denied"]
    assert len(denied) == 1 and denied[0]["details"]["discarded"] >= 8, denied
    play_to_end(p)
    p.page.click("#cta")
    assert py(p.page, CURRENT + "current().tracker.pending()") == 0
    p.reload()
    assert consent_of(p.page) == "pending" and sdk_keys(p.page) == []
    assert p.sdk_requests.made == [] and kc.events() == []


# -- state changes across a reload and across tabs ------------------------------------------------

def test_pending_is_forgotten_on_reload_granted_is_remembered(kw_pages, kaltura_collector):
    """A click held while pending is gone after a reload (memory only), and the reloaded page is
    pending again with nothing stored; after a grant, the next reload starts granted and sends at
    once, with no consent event."""
    kc = kaltura_collector
    p = kw_pages(PATH, setup=serve(page_html(page_config())))
    p.page.click("#cta")
    p.reload()
    assert consent_of(p.page) == "pending" and sdk_keys(p.page) == [] and p.sdk_requests.made == []
    p.page.evaluate(GRANT)
    kc.wait_for_events(predicate=lambda evs: 10003 in types(evs), service="analytics", timeout=20)
    wait_queued(p.page, "=== 0", "the granted page's queue to drain")
    p.reload()
    assert consent_of(p.page) == "granted"
    page_loads = kc.wait_for_events(predicate=lambda evs: types(evs).count(10003) == 2, service="analytics",
                                    timeout=20)
    assert 10002 not in types(page_loads), "the click held before the first reload was sent"
    wait_queued(p.page, "=== 0", "the queue to drain")
    assert_stored_once(kc)


def open_second_tab(p):
    page2 = p.context.new_page()
    page2.on("pageerror", lambda exc: p.errors.append(str(exc)))
    page2.goto(p.base + PATH)
    wait_in_page(page2, "window.__kwReady !== null", "the SDK to be ready in tab 2",
                 observe="window.__kwErrors", timeout=60_000)
    return page2


def clicks(kc):
    return [e for e in kc.events(service="analytics") if e["event_type"] == 10002]


def test_grant_erase_and_denial_in_one_tab_reach_the_other(kw_pages, kaltura_collector):
    """Two pending tabs: a grant in tab 1 sends tab 2's held click too; kaltura.erase() in tab 2 empties
    localStorage and tab 1's queue in memory (the erased clicks never arrive, nothing is written back);
    a denial in tab 1 turns tab 2 to denied with storage empty, and tab 2 sends nothing after."""
    kc = kaltura_collector
    p = kw_pages(PATH, setup=serve(page_html(page_config())))
    tab1 = p.page
    tab2 = open_second_tab(p)
    tab2.click("#cta")
    tab1.evaluate(GRANT)
    wait_consent(tab2, "granted", "tab 2 to follow the grant of tab 1")
    wait_until(lambda: len(clicks(kc)), "tab 2's click held while pending to arrive", until=lambda n: n == 1,
               timeout=30)
    wait_queued(tab1, "=== 0", "the shared queue to drain")
    p.context.set_offline(True)
    tab1.click("#cta")
    tab2.click("#cta")
    wait_queued(tab1, ">= 2", "both offline clicks in the shared queue")
    assert py(tab2, CURRENT + "current().erase()") >= 1
    assert [k for k in sdk_keys(tab1) if ":q:" in k] == []
    wait_in_page(tab1, "c => window.pyodide.runPython(c) === 0", "tab 1 to drop its queue in memory",
                 arg=CURRENT + "current().tracker.pending()")
    assert sdk_keys(tab1) == [], "a tab wrote the erased keys back"
    p.context.set_offline(False)
    tab1.click("#cta")
    wait_until(lambda: len(clicks(kc)), "the click made after the erase to arrive", until=lambda n: n == 2,
               timeout=30)
    wait_queued(tab1, "=== 0", "the queue to drain")
    assert len(clicks(kc)) == 2, "an erased click was sent"
    tab1.evaluate(DENY)
    wait_consent(tab2, "denied", "tab 2 to follow the denial of tab 1")
    assert sdk_keys(tab1) == [] and sdk_keys(tab2) == []
    tab2.click("#cta")
    tab1.click("#cta")
    assert sdk_keys(tab2) == [] and py(tab2, CURRENT + "current().tracker.pending()") == 0
    assert len(clicks(kc)) == 2
    assert_stored_once(kc)


# -- Global Privacy Control, the snippet, anonymous mode -------------------------------------------

def test_global_privacy_control_starts_denied_with_respect_gpc(kw_pages, kaltura_collector):
    """With "respectGPC": true and navigator.globalPrivacyControl true, a page configured granted starts
    denied: a playback and a click send nothing and store nothing."""
    kc = kaltura_collector
    p = kw_pages(PATH, setup=serve(page_html(page_config(consent="granted", respectGPC=True)), init=[GPC]))
    assert consent_of(p.page) == "denied"
    play_to_end(p)
    p.page.click("#cta")
    assert sdk_keys(p.page) == [] and p.sdk_requests.made == [] and kc.events() == []


def test_a_consent_event_before_the_sdk_starts_is_replayed(kw_pages, kaltura_collector):
    """The page's CMP answers before Python has started: the snippet records the event and the SDK,
    configured pending, replays it, so the page's first beacons arrive."""
    kc = kaltura_collector
    p = kw_pages(PATH, setup=serve(page_html(page_config(), before_sdk=GRANT)))
    ready = p.page.evaluate("window.__kwReady")
    assert ready["early"]["snippet"] and ready["early"]["replayed"] >= 1
    assert consent_of(p.page) == "granted"
    events = kc.wait_for_events(predicate=lambda evs: 10003 in types(evs), service="analytics", timeout=20)
    assert [e for e in events if e["event_type"] == 10003][0]["fields"]["pageName"] == "consent"
    wait_queued(p.page, "=== 0", "the queue to drain")


def test_anonymous_page_sends_no_user_and_no_referrer_query(kw_pages, kaltura_collector):
    """"anonymous": true on a page whose address has a query and a fragment: no userId in any beacon and
    no KS user (the KS URL is asked with anonymous=1), the referrer without query, the queue stored under
    kaltura_web:100:%anon."""
    kc = kaltura_collector
    html = page_html(page_config(consent="granted", anonymous=True))
    p = kw_pages(PATH + "?campaign=spring&viewer=ann#chapter-2", setup=serve(html))
    kc.wait_for_events(predicate=lambda evs: 10003 in types(evs), service="analytics", timeout=20)
    p.context.set_offline(True)
    p.page.click("#cta")
    wait_queued(p.page, ">= 1", "the click stored")
    assert all(k.startswith("kaltura_web:100:%anon:") for k in sdk_keys(p.page)), sdk_keys(p.page)
    p.context.set_offline(False)
    kc.wait_for_events(predicate=lambda evs: 10002 in types(evs), service="analytics", timeout=30)
    wait_queued(p.page, "=== 0", "the queue to drain")
    events = kc.events()
    assert events and all(not e["user_id"] and "userId" not in e["fields"] for e in events)
    referrers = {e["fields"].get("referrer") for e in events} - {None}
    assert referrers == {p.base + PATH}, referrers
    assert [u for u in p.sdk_requests.made if "/dev/ks" in u][0].endswith("&anonymous=1")


# a CMP speaking the IAB TCF v2 API: it says "UI shown" at once, then answers when the test says
TCF_STUB = """<script>
window.__tcfapi = function (command, version, callback) {
  window.__tcfAnswer = function (consents) {
    callback({eventStatus: "useractioncomplete", purpose: {consents: consents}}, true);
  };
  callback({eventStatus: "cmpuishown", purpose: {consents: {}}}, true);
};
</script>"""


def test_readme_cmp_example_wires_a_tcf_consent_banner(kw_pages, kaltura_collector):
    """The README's five-line CMP example, as written, on a pending page with a TCF CMP: nothing while the
    banner is shown; purpose 8 refused denies (storage emptied); both purposes given grants, and only
    what comes after the denial is sent."""
    kc = kaltura_collector
    html = page_html(page_config(), head=TCF_STUB + "\n" + example("cmp-consent"))
    p = kw_pages(PATH, setup=serve(html))
    p.page.click("#cta")
    assert consent_of(p.page) == "pending" and sdk_keys(p.page) == [] and p.sdk_requests.made == []
    p.page.evaluate("window.__tcfAnswer({1: true, 8: false})")
    assert consent_of(p.page) == "denied" and sdk_keys(p.page) == []
    p.page.evaluate("window.__tcfAnswer({1: true, 8: true})")
    assert consent_of(p.page) == "granted"
    p.page.click("#cta")
    wait_until(lambda: len(clicks(kc)), "the click made after the grant to arrive", until=lambda n: n == 1,
               timeout=30)
    wait_queued(p.page, "=== 0", "the queue to drain")
    assert 10003 not in types(kc.events(service="analytics")), "the PageLoad discarded by the denial was sent"
    assert_stored_once(kc)
