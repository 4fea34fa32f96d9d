"""The `make dist` folder deployed as a portal deploys it, under a strict Content-Security-Policy.

A plain static server (http.server, not the collector) serves the folder on one origin with
each file's MIME type and cache header from manifest.json and the pages with the policy the
README documents; the collector, on another origin, stands for Kaltura (the policy's Kaltura
hosts become its origin, in connect-src).  Both runtimes report a full playback with nothing
refused and load exactly the files the manifest lists for them.  Then each source of the
policy is taken away in turn: what breaks, and the page is told (the dist reporter's console
error naming the directive, and a ``kaltura-web:error`` event), never silently.

Playwright's ``wait_for_function`` evaluates its predicate with eval, which the policy refuses
(a violation of its own): every wait here polls with ``page.evaluate`` (CDP, outside the CSP).
"""

import functools
import http.server
import json
import pathlib
import re
import subprocess
import sys
import threading
import urllib.parse

import pytest

from e2e_helpers import QUEUED, types, wait_until
from kaltura_web.core.catalog import STATS_TYPE_BY_NAME as T

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import build_dist  # noqa: E402

FULL = [T[n] for n in ("WIDGET_LOADED", "MEDIA_LOADED", "PLAY", "PLAY_REACHED_25", "PLAY_REACHED_50",
                       "PLAY_REACHED_75", "PLAY_REACHED_100")]
PAGE_LOAD = 10003
READY_SECONDS = {"micropython": 30, "pyodide": 90}
TOLD = "kaltura_web: blocked by Content-Security-Policy directive "
LOADER_FAILED = "kaltura_web: the loader could not start the SDK"
CONFIG_RE = re.compile(r'(<script type="application/json" id="kaltura-web-config">)(.*?)(</script>)', re.S)

# before any page script: the SDK's ready event and errors, and every violation the browser reports
INIT_SCRIPT = """
window.__kwReady = null; window.__kwErrors = []; window.__csp = [];
window.addEventListener('kaltura-web:ready', e => { window.__kwReady = e.detail; });
window.addEventListener('kaltura-web:error', e => window.__kwErrors.push(e.detail));
document.addEventListener('securitypolicyviolation',
  e => window.__csp.push({directive: e.effectiveDirective, blocked: e.blockedURI}));
"""


class StaticServer:
    """http.server on 127.0.0.1 serving ``folder``: each file with the manifest's type and
    cacheControl, each page with the Content-Security-Policy in ``policy``; ``served`` is the
    paths asked for."""

    def __init__(self, folder, manifest):
        files = {f["path"]: f for f in manifest["files"]}
        files["manifest.json"] = {"type": "application/json", "cacheControl": build_dist.REVALIDATE}
        owner = self
        self.policy = None
        self.served = []

        class Handler(http.server.SimpleHTTPRequestHandler):
            def _rel(self):
                return urllib.parse.unquote(urllib.parse.urlsplit(self.path).path).lstrip("/")

            def do_GET(self):
                owner.served.append(self._rel())
                super().do_GET()

            def guess_type(self, path):
                info = files.get(self._rel())
                return info["type"] if info else "application/octet-stream"

            def end_headers(self):
                info = files.get(self._rel())
                if info:
                    self.send_header("Cache-Control", info["cacheControl"])
                if self._rel().endswith(".html") and owner.policy:
                    self.send_header("Content-Security-Policy", owner.policy)
                super().end_headers()

            def log_message(self, *args):
                pass

        handler = functools.partial(Handler, directory=str(folder))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        # "localhost": another origin than the collector's 127.0.0.1, as a portal and Kaltura are
        self.base = "http://localhost:%d/" % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    """`make dist` into a temporary folder (the Makefile's recipe, DIST overridden), served statically."""
    folder = tmp_path_factory.mktemp("dist") / "portal"
    made = subprocess.run(["make", "--no-print-directory", "dist", "DIST=%s" % folder], cwd=ROOT,
                          capture_output=True, text=True, timeout=900)
    assert made.returncode == 0, "make dist failed:\n%s%s" % (made.stdout, made.stderr)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    server = StaticServer(folder, manifest)
    yield folder, manifest, server
    server.stop()


class DistPage:
    """One browser context on the static server: console, page errors, the static paths it
    loaded and any request that went neither there nor to the collector."""

    def __init__(self, browser, server, collector):
        self.server, self.collector = server, collector
        self.console, self.errors, self.foreign = [], [], []
        self.context = browser.new_context()
        self.context.on("request", self._request)
        self.context.add_init_script(INIT_SCRIPT)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: self.console.append((m.type, m.text)))
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def _request(self, request):
        url = request.url
        if not url.startswith((self.server.base, self.collector.base_url + "/", "data:", "blob:")):
            self.foreign.append(url)

    def open(self, path, policy):
        self.server.policy = policy
        self.page.goto(self.server.base + path)
        return self

    def js(self, expression):
        return self.page.evaluate(expression)

    def wait(self, expression, what, timeout=20):
        return wait_until(lambda: self.js(expression), what, timeout=timeout)

    def wait_ready(self, timeout):
        try:
            return self.wait("window.__kwReady", "the SDK to be ready", timeout=timeout)
        except AssertionError as exc:
            raise AssertionError("%s; console: %s; page errors: %s" % (exc, self.console, self.errors)) from None

    def console_errors(self, start):
        return [text for kind, text in self.console if kind == "error" and text.startswith(start)]

    def wait_console_error(self, start, what, timeout=30):
        def read():
            self.page.evaluate("0")  # Playwright delivers console events during its calls
            return self.console_errors(start)
        return wait_until(read, what, timeout=timeout)


@pytest.fixture
def dist_pages(browser, dist, kaltura_collector):
    """Open dist pages with ``dist_pages(path, policy)``; fails the test on a request to a third origin."""
    opened = []

    def open_page(path, policy):
        p = DistPage(browser, dist[2], kaltura_collector)
        opened.append(p)
        return p.open(path, policy)

    yield open_page
    foreign = [u for p in opened for u in p.foreign]
    for p in opened:
        p.context.close()
    assert not foreign, "requests left the static server and the collector: %s" % foreign


def configure(path, collector, ks):
    """The page's configuration as a portal owner edits it: Kaltura's URLs (here the collector's)
    and a KS (here made by the collector; a portal's back end answers ksUrl)."""
    html = path.read_text(encoding="utf-8")
    m = CONFIG_RE.search(html)
    assert m, "%s has no kaltura-web-config block" % path
    config = json.loads(m.group(2))
    config.pop("ksUrl", None)
    config.update(ks=ks, serviceUrl=collector.service_url, analyticsUrl=collector.analytics_url)
    path.write_text(html[:m.start(2)] + "\n" + json.dumps(config) + "\n  " + html[m.end(2):], encoding="utf-8")


def page_entry(manifest, path):
    return next(p for p in manifest["pages"] if p["path"] == path)


def documented(manifest, path, collector):
    """The README's policy of the page (checked equal to make dist's), the Kaltura hosts
    replaced by the collector's origin."""
    readme = build_dist.readme_policies((ROOT / "README.md").read_text(encoding="utf-8"))
    entry = page_entry(manifest, path)
    assert readme.get(path) == entry["csp"], \
        "README's policy of %s differs from make dist's: run .venv/bin/python tools/build_dist.py --readme" % path
    assert build_dist.KALTURA_HOSTS in entry["csp"]
    return entry["csp"].replace(build_dist.KALTURA_HOSTS, collector.base_url)


def without(policy, directive, source):
    """``policy`` with ``source`` taken out of ``directive``."""
    parts = [d.split() for d in policy.split("; ")]
    found = [d for d in parts if d[0] == directive and source in d[1:]]
    assert found, "%s has no %s in %s" % (policy, source, directive)
    found[0].remove(source)
    return "; ".join(" ".join(d) for d in parts)


def prepared(dist, kc, path):
    folder, manifest, _server = dist
    configure(folder / path, kc, kc.ks(user_id="viewer@example.com", app_id="events-portal"))
    return manifest


@pytest.mark.parametrize("path", ["portal-mpy.html", "portal-pyodide.html"])
def test_documented_policy_reports_a_full_playback(dist, dist_pages, kaltura_collector, path):
    """Under the README's policy, each runtime's dist page on a static server reports WIDGET_LOADED..PLAY_REACHED_100 and PageLoad, nothing refused, only the manifest's files loaded."""
    kc = kaltura_collector
    manifest = prepared(dist, kc, path)
    entry = page_entry(manifest, path)
    served_before = len(dist[2].served)
    p = dist_pages(path, documented(manifest, path, kc))
    p.wait_ready(READY_SECONDS[entry["runtime"]])
    p.js("document.querySelector('video').play()")
    p.wait("document.querySelector('video').ended", "the 4-s clip to end")
    stats = kc.wait_for_events(service="stats", timeout=20,
                               predicate=lambda evs: T["PLAY_REACHED_100"] in types(evs))
    assert types(stats) == FULL
    assert PAGE_LOAD in types(kc.wait_for_events(service="analytics", timeout=20))
    assert p.js("window.__csp") == [] and p.console_errors(TOLD) == [], p.console
    assert p.js("window.__kwErrors") == [] and p.errors == []
    loaded = set(dist[2].served[served_before:]) - {"favicon.ico"}  # Chromium asks for it by itself
    assert loaded == {path, *entry["loads"]}
    kc.assert_stored_once()
    assert kc.verify() == []


def _loader_fails(p, kc):
    p.wait_console_error(LOADER_FAILED, "the loader to say it could not start the SDK")
    assert p.js("window.__kwReady") is None


def _snippet_refused(p, kc):
    p.wait_ready(READY_SECONDS["micropython"])
    assert p.js("window.kalturaWebQueue === undefined"), "the inline snippet ran"


def _beacons_held(p, kc):
    p.wait_ready(READY_SECONDS["micropython"])
    queued = p.wait("(%s) > 0 && (%s)" % (QUEUED, QUEUED), "beacons kept in localStorage")
    assert queued > 0 and kc.events() == []


SNIPPET_HASH, KALTURA_HOST = "<snippet hash>", "<Kaltura host>"  # resolved per test
STATIC_ORIGIN = "<static origin>"
STRICTER = [
    # while the SDK makes functions from text (manifest unsafeEvalFor) the policy has 'unsafe-eval',
    # which allows WebAssembly too; without it the interpreter's WebAssembly is refused first
    pytest.param("script-src", "'unsafe-eval'" if build_dist.eval_sites() else "'wasm-unsafe-eval'",
                 "wasm-eval", _loader_fails, id="no-eval-source"),
    pytest.param("script-src", SNIPPET_HASH, "inline", _snippet_refused, id="no-snippet-hash"),
    pytest.param("connect-src", "'self'", STATIC_ORIGIN, _loader_fails, id="no-connect-self"),
    pytest.param("connect-src", KALTURA_HOST, KALTURA_HOST, _beacons_held, id="no-kaltura-host"),
]


@pytest.mark.parametrize("directive, source, blocked, breaks", STRICTER)
def test_each_source_is_needed_and_the_page_is_told(dist, dist_pages, kaltura_collector,
                                                     directive, source, blocked, breaks):
    """Without one source of the documented policy the MicroPython dist page breaks, and the reporter names the directive on the console and in a kaltura-web:error event."""
    kc = kaltura_collector
    path = "portal-mpy.html"
    manifest = prepared(dist, kc, path)
    resolve = {SNIPPET_HASH: manifest["snippet"]["cspHash"], KALTURA_HOST: kc.base_url,
               STATIC_ORIGIN: dist[2].base.rstrip("/")}
    source, blocked = resolve.get(source, source), resolve.get(blocked, blocked)
    p = dist_pages(path, without(documented(manifest, path, kc), directive, source))
    # the violation's directive: script-src-elem for an inline script, the directive itself otherwise
    named = "script-src-elem" if blocked == "inline" else directive
    told = p.wait_console_error(TOLD + named + " (", "the reporter to name %s" % named)
    assert any(blocked in text for text in told), told
    events = p.js("window.__kwErrors.filter(e => e.where === 'Content-Security-Policy')")
    assert any(e["directive"] == named and blocked in e["blocked"] for e in events), events
    breaks(p, kc)
