"""E2E helpers: one Chromium per session (pytest-playwright's ``browser``), a
fresh context per page, a guard that fails on any request leaving localhost,
and the SDK's window events collected for assertions. The collector stores every
arrival (a re-sent beacon too, as Kaltura would): ``assert_stored_once`` reads the
repeats from the plugin's ``kaltura_collector.duplicates()``."""

import time
from pathlib import Path

import pytest

from e2e_helpers import queued, wait_in_page, wait_queued, wait_video

ROOT = Path(__file__).resolve().parent.parent
WHEEL = ROOT / "web/dist/kaltura_web-0.1.0-py3-none-any.whl"
RUNTIMES = [ROOT / "web/node_modules/pyodide/pyodide.mjs",
            ROOT / "web/node_modules/@pyscript/core/dist/core.js", ROOT / "web/media/test.webm"]
PYODIDE_HTTP = ROOT / "web/pypi/pyodide_http-0.2.2-py3-none-any.whl"
READY_TIMEOUT = 60_000

# collects what the SDK dispatches on window, before any page script runs
INIT_SCRIPT = """
window.__kwEvents = []; window.__kwReady = null; window.__kwErrors = [];
window.addEventListener('kaltura-web:event', e => window.__kwEvents.push(e.detail));
window.addEventListener('kaltura-web:ready', e => { window.__kwReady = e.detail; });
window.addEventListener('kaltura-web:error', e => window.__kwErrors.push(e.detail));
"""


@pytest.fixture(scope="session", autouse=True)
def _runtimes_present():
    missing = [str(p) for p in [WHEEL, *RUNTIMES] if not p.exists()]
    if missing:
        pytest.fail("browser runtime files missing (run `make setup`): " + ", ".join(missing),
                    pytrace=False)


class KWPage:
    """One browser context + page on the collector, with the SDK's events."""

    def __init__(self, browser, collector):
        self.collector = collector
        self.base = collector.base_url
        self.context = browser.new_context()
        self.foreign = []
        self.errors = []
        self.context.on("request", self._check_request)
        self.context.add_init_script(INIT_SCRIPT)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def _check_request(self, request):
        url = request.url
        if url.startswith(("data:", "blob:", "about:")):
            return
        if not url.startswith(self.base + "/"):  # only the local collector is allowed
            self.foreign.append(url)

    def queued_in_storage(self):
        """Records waiting in localStorage: one key each, <ns>:q:<queue>:<seq>.<tab> (docs/storage.md)."""
        return queued(self.page)

    def open(self, path, wait_ready=True):
        started = time.monotonic()
        self.page.goto(self.base + path)
        if wait_ready:
            self.wait_ready()
        self.load_seconds = time.monotonic() - started
        return self

    def wait_ready(self, timeout=READY_TIMEOUT):
        try:
            wait_in_page(self.page, "window.__kwReady !== null", f"the SDK to be ready on {self.page.url}",
                         observe="window.__kwErrors", timeout=timeout)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; page errors: {self.errors}") from None
        return self.page.evaluate("window.__kwReady")

    def reload(self, wait_ready=True):
        self.page.reload()
        if wait_ready:
            self.wait_ready()

    def sdk_events(self, name=None, entry_id=None):
        events = self.page.evaluate("window.__kwEvents")
        return [e for e in events if (name is None or e["name"] == name)
                and (entry_id is None or e.get("entryId") == entry_id)]

    def wait_sdk_event(self, name, timeout=20_000, count=1):
        """Wait until the SDK has dispatched ``count`` events named ``name``; returns them."""
        wait_in_page(self.page, "([n, c]) => window.__kwEvents.filter(e => e.name === n).length >= c",
                     f"{count} SDK event(s) {name}", arg=[name, count],
                     observe="() => window.__kwEvents.map(e => e.name)", timeout=timeout)
        return self.sdk_events(name)

    def wait_queued(self, comparison, what, timeout=20_000):
        """Wait until the number of records in localStorage satisfies ``comparison`` (``">= 5"``)."""
        wait_queued(self.page, comparison, what, timeout=timeout)

    def wait_video(self, condition, what, selector="video", timeout=20_000):
        """Wait until ``condition`` (JavaScript over the video ``v``) holds, e.g. ``"v.ended"``."""
        wait_video(self.page, condition, what, selector=selector, timeout=timeout)

    def video(self, js, selector="video"):
        """Run ``js`` with ``v`` bound to the video element."""
        return self.page.evaluate(f"(() => {{ const v = document.querySelector({selector!r}); {js} }})()")

    def close(self):
        """Close without the page's unload flush reaching the collector: a keepalive fetch
        outlives the page, and would land in the next test's collector after its reset (a
        test of the flush triggers it itself, while it runs)."""
        try:
            self.context.set_offline(True)
        except Exception:  # a context already gone has nothing left to send
            pass
        self.context.close()


@pytest.fixture
def kw_pages(browser, kaltura_collector):
    """Open SDK pages with ``kw_pages(path)``; fails the test on any non-local request."""
    opened = []

    def open_page(path, wait_ready=True, setup=None):
        p = KWPage(browser, kaltura_collector)
        opened.append(p)
        if setup is not None:
            setup(p)
        return p.open(path, wait_ready=wait_ready)

    yield open_page
    foreign = [u for p in opened for u in p.foreign]
    errors = [e for p in opened for e in p.errors]
    for p in opened:
        p.close()
    assert not foreign, f"requests left localhost: {foreign}"
    assert not errors, f"page errors: {errors}"


