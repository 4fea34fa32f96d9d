"""The browser bridge's pure-Python parts on CPython: the guard, proxy owners and
once-callable timers (with fake event targets and a fake setTimeout), tasks,
the tabs' sender role and the sender's calls out (failures there are coded
diagnostics, never silent), and the bridge's own module structure (one module
imports js; no import cycle)."""

import ast
import asyncio
import pathlib
import sys

import pytest

from kaltura_web.browser import _convert, _env, _guard, _runtime
from kaltura_web.browser._proxies import ProxyOwner, live_proxies
from kaltura_web.browser._timers import Timers, eagerly, spawn
from kaltura_web.browser.driver import AsyncSender
from kaltura_web.browser.storage import LocalStorageStore
from kaltura_web.browser.tabs import TabCoordinator
from tests.fakes import make_tracker
from tests.test_storage_budget import FakeStorage

BROWSER = pathlib.Path(__file__).resolve().parent.parent / "kaltura_web" / "browser"


class FakeTarget:
    """An EventTarget: addEventListener / removeEventListener / dispatch."""

    def __init__(self):
        self.listeners = []

    def addEventListener(self, name, fn):
        self.listeners.append((name, fn))

    def removeEventListener(self, name, fn):
        self.listeners = [(n, f) for n, f in self.listeners if not (n == name and f is fn)]

    def dispatch(self, name, event=None):
        return [fn(event) for n, fn in list(self.listeners) if n == name]


class FakeHost:
    """setTimeout / clearTimeout that run only when the test says so."""

    def __init__(self):
        self.timers = {}
        self.next_id = 1

    def setTimeout(self, fn, ms):
        tid, self.next_id = self.next_id, self.next_id + 1
        self.timers[tid] = fn
        return tid

    def clearTimeout(self, tid):
        self.timers.pop(tid, None)

    def run_all(self):
        timers, self.timers = self.timers, {}
        for fn in timers.values():
            fn()
        return timers


def timer_rig():
    """(tracker, live proxies now, fake host, Timers on that host)."""
    tracker = make_tracker()
    host = FakeHost()
    return tracker, live_proxies(), host, Timers(tracker, host=host)


def sdk_errors(tracker):
    return [d for d in tracker.diagnostics if d["code"] == "sdk-error"]


def boom(*_):
    raise ZeroDivisionError("the SDK's own bug")


def test_runtime_is_plain_cpython_here():
    """On CPython the runtime is decided as plain CPython and what needs a page raises RuntimeError."""
    assert (_runtime.NAME, _runtime.IN_BROWSER, _runtime.IN_PYODIDE) == ("cpython", False, False)
    with pytest.raises(RuntimeError):
        _convert.to_js({"a": 1})
    with pytest.raises(RuntimeError):
        _env.document()
    assert _convert.is_nullish(None) and not _convert.is_nullish(0) and not _convert.is_nullish("")


def test_guard_reports_the_sdks_own_exception_as_a_coded_diagnostic():
    """A guarded callback that raises returns None and leaves one sdk-error diagnostic naming where it failed."""
    tracker = make_tracker()
    assert _guard.guard(lambda x: x * 2, tracker, "doubler")(21) == 42
    assert sdk_errors(tracker) == []
    assert _guard.guard(boom, tracker, "media timeupdate handler")("event") is None
    (entry,) = sdk_errors(tracker)
    assert entry["details"]["where"] == "media timeupdate handler"
    assert "ZeroDivisionError" in entry["details"]["error"]


def test_guard_without_a_tracker_reports_on_stderr(capsys):
    """With no tracker to report to (start() failed), the guard still says what failed instead of raising."""
    assert _guard.guard(boom, None, "start")() is None
    assert "start failed" in capsys.readouterr().err


def test_guard_task_reports_a_failing_coroutine():
    """A spawned coroutine that raises is reported as sdk-error, not raised into the event loop."""
    tracker = make_tracker()

    async def failing():
        raise KeyError("bug")

    async def main():
        await spawn(failing(), tracker, "sender task")

    asyncio.run(main())
    assert [e["details"]["where"] for e in sdk_errors(tracker)] == ["sender task"]


def test_listener_runs_under_the_guard_and_destroy_removes_it():
    """An owner's listener that raises is reported; destroy() removes the listener and frees every proxy."""
    tracker = make_tracker()
    base = live_proxies()
    owner = ProxyOwner(tracker, "page")
    target = FakeTarget()
    seen = []
    owner.listen(target, "online", seen.append)
    stale = owner.listen(target, "offline", boom)
    assert live_proxies() - base == 2 and len(owner) == 2 and owner.listens("offline")
    target.dispatch("online", "e1")
    assert target.dispatch("offline", "e2") == [None]  # raised inside: nothing reaches the caller
    assert seen == ["e1"] and [e["details"]["where"] for e in sdk_errors(tracker)] == ["page offline handler"]
    owner.destroy()
    assert target.listeners == [] and live_proxies() == base and len(owner) == 0
    assert not owner.listens("offline")
    stale("e3")  # a reference JS kept: disarmed, it calls nothing
    assert len(sdk_errors(tracker)) == 1
    owner.destroy()  # idempotent
    assert live_proxies() == base


def test_timer_callbacks_release_themselves():
    """A timer's once-callable frees its proxy when it runs; cancel frees one that never ran; nothing is left alive."""
    tracker, base, host, timers = timer_rig()
    ran = []
    first = timers.call_later(1.0, lambda: ran.append("first"))
    second = timers.call_later(2.0, lambda: ran.append("second"))
    assert live_proxies() - base == 2 and len(timers) == 2
    timers.cancel(second)
    assert live_proxies() - base == 1 and second not in host.timers
    fired = host.run_all()
    assert ran == ["first"] and live_proxies() == base and len(timers) == 0
    fired[first]()  # JS calling a spent once-callable again: nothing runs
    assert ran == ["first"]
    timers.cancel(first)  # cancelling a timer that ran: no effect
    assert live_proxies() == base


def test_failing_timer_is_reported_and_still_released():
    """A timer callback that raises is an sdk-error diagnostic and its proxy is freed all the same."""
    tracker, base, host, timers = timer_rig()
    timers.call_later(0, boom)
    timers.call_later(0, boom)
    timers.cancel_all()
    assert live_proxies() == base and host.timers == {}
    timers.call_later(0, boom)
    host.run_all()
    assert live_proxies() == base and [e["details"]["where"] for e in sdk_errors(tracker)] == ["timer callback"]


def test_eagerly_starts_a_task_before_spawn_returns_where_python_can():
    """Inside eagerly() a spawned coroutine runs up to its first await at once on Python 3.12+ (Pyodide: the pagehide flush relies on it); older CPython starts it on the next turn."""
    steps = []

    async def send(name):
        steps.append(name)
        await asyncio.sleep(0)

    async def main():
        with eagerly():
            task = spawn(send("eager"))
            started_at_once = list(steps)
        plain = spawn(send("plain"))
        assert steps == started_at_once
        await task
        await plain
        return started_at_once

    assert asyncio.run(main()) == (["eager"] if sys.version_info >= (3, 12) else [])
    assert sorted(steps) == ["eager", "plain"]


def test_resolve_awaits_only_awaitables():
    """resolve() passes plain values through and awaits coroutines (a KS provider may return either)."""

    async def ks():
        return "ks-from-coroutine"

    async def main():
        return await _convert.resolve("plain-ks"), await _convert.resolve(ks())

    assert asyncio.run(main()) == ("plain-ks", "ks-from-coroutine")


def _browser_imports(path):
    """Modules of kaltura_web.browser (and top-level names) that ``path`` imports."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                out.add(node.module.split(".")[0])
            else:
                out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            out.update("<top>" + alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            out.add("<top>" + node.module.split(".")[0])
    return out


def test_only_the_runtime_module_imports_js_and_modules_form_no_cycle():
    """Only _runtime imports js/pyodide/jsffi, and the browser modules' imports have no cycle (page and media included)."""
    graph = {p.stem: _browser_imports(p) for p in BROWSER.glob("*.py")}
    js_users = sorted(name for name, deps in graph.items()
                      if deps & {"<top>js", "<top>pyodide", "<top>jsffi"})
    assert js_users == ["_runtime"]
    assert "page" not in graph["media"]
    state = {}

    def visit(name, path):
        assert state.get(name) != "open", "import cycle: " + " -> ".join(path + [name])
        if state.get(name) is None:
            state[name] = "open"
            for dep in graph[name]:
                if dep in graph and dep != "__init__":
                    visit(dep, path + [name])
            state[name] = "done"

    for name in graph:
        if name != "__init__":
            visit(name, [])


def test_make_rng_draws_bits():
    """The page's random source gives getrandbits of any width (the tracker's ids)."""
    rng = _env.make_rng()
    assert 0 <= rng.getrandbits(64) < 2 ** 64 and rng.getrandbits(64) != rng.getrandbits(64)



# -- the tabs' sender role (lease fallback and a failing Web Locks request) -------
class StorageEvent:
    """What the ``storage`` event gives Python: the key and the new value (None: removed)."""

    def __init__(self, key, new_value):
        self.key = key
        self.newValue = new_value


class FakeSender:
    """The AsyncSender's face towards the coordinator: ``active``, ``coordinator``, ``kick()``."""

    def __init__(self):
        self.active = True
        self.coordinator = None
        self.kicks = 0

    def kick(self):
        self.kicks += 1


class FakeLocks:
    """``navigator.locks`` whose request promise the test rejects (``reject``)."""

    def __init__(self):
        self.names = []
        self.on_reject = None

    def request(self, name, callback):
        self.names.append(name)
        return self

    def catch(self, fn):
        self.on_reject = fn


def tab_rig(storage, locks=False):
    """(coordinator of tab "a" in lease mode unless ``locks``, its tracker, fake timer host, window, sender)."""
    store = LocalStorageStore(100, "viewer", storage=storage, tab="a")
    tracker = make_tracker(store=store)
    host, window, sender = FakeHost(), FakeTarget(), FakeSender()
    coordinator = TabCoordinator(tracker, store, sender, timers=Timers(tracker, host=host), locks=locks,
                                 window=window)
    return coordinator, tracker, host, window, sender


def codes(tracker, code):
    return [d["message"] for d in tracker.diagnostics if d["code"] == code]


def test_lease_makes_one_sender_hands_over_and_takes_back():
    """Lease fallback: the tab takes the free lease, confirms it and sends; another tab's lease hands the role over; when that tab leaves it is taken back at once."""
    storage = FakeStorage()
    tabs, tracker, host, window, sender = tab_rig(storage)
    tabs.start()
    assert tabs.mode == "lease" and not tabs.is_sender and sender.active is False
    assert storage.data[tabs.lease_key].startswith("a:")
    host.run_all()  # the renewal and the confirmation
    assert tabs.is_sender and sender.active and sender.kicks == 1 and tabs.reloads == 1
    storage.data[tabs.lease_key] = "b:99999999999999"
    window.dispatch("storage", StorageEvent(tabs.lease_key, "b:99999999999999"))
    assert not tabs.is_sender and not sender.active
    assert codes(tracker, "tab-handover") == ["another tab took over sending"]
    del storage.data[tabs.lease_key]
    window.dispatch("storage", StorageEvent(tabs.lease_key, None))
    assert storage.data[tabs.lease_key].startswith("a:")
    host.run_all()
    assert tabs.is_sender and tabs.reloads == 2
    tabs.stop()
    assert tabs.lease_key not in storage.data and window.listeners == [] and host.timers == {}
    assert codes(tracker, "tab-fallback") == [] and sdk_errors(tracker) == []


def test_a_storage_that_refuses_the_lease_is_reported_and_the_renewal_goes_on():
    """localStorage refusing every write: each lease step is a tab-fallback diagnostic, the tab never sends, and the renewal stays scheduled."""
    tabs, tracker, host, _window, sender = tab_rig(FakeStorage(refuse="SecurityError"))
    tabs.start()
    host.run_all()
    assert codes(tracker, "tab-fallback") == ["renewing the sender lease failed"] * 2
    assert not tabs.is_sender and not sender.active and len(host.timers) == 1
    assert sdk_errors(tracker) == []


def test_a_lease_that_cannot_be_removed_at_stop_is_reported():
    """Stopping the sender tab when localStorage refuses to remove its lease: a tab-fallback diagnostic (the lease then lapses)."""
    storage = FakeStorage()
    tabs, tracker, host, _window, _sender = tab_rig(storage)
    tabs.start()
    host.run_all()
    assert tabs.is_sender
    storage.refuse = "SecurityError"
    tabs.stop()
    assert codes(tracker, "tab-fallback") == ["removing the sender lease failed"]
    assert storage.data[tabs.lease_key].startswith("a:")


def test_a_rejected_web_locks_request_falls_back_to_the_lease():
    """The Web Locks request rejects: a tab-fallback diagnostic, and the tab competes through the storage lease instead."""
    storage = FakeStorage()
    locks = FakeLocks()
    tabs, tracker, host, _window, _sender = tab_rig(storage, locks=locks)
    tabs.start()
    assert tabs.mode == "locks" and locks.names == [tabs.store.namespace + ":sender"]
    locks.on_reject("NotSupportedError: no locks here")
    assert tabs.mode == "lease" and storage.data[tabs.lease_key].startswith("a:")
    assert codes(tracker, "tab-fallback") == ["Web Locks request failed; using a storage lease"]
    host.run_all()
    assert tabs.is_sender
    tabs.stop()


# -- the sender's calls out --------------------------------------------------------
def test_a_failing_ks_provider_and_a_failing_log_are_coded_diagnostics():
    """The KS provider raising is ks-provider-failed and the sender's log raising is hook-failed; neither escapes refresh_ks."""

    def provider():
        raise ConnectionError("ks endpoint down")

    tracker = make_tracker(ks_provider=provider)
    host = FakeHost()
    sender = AsyncSender(tracker, transport=None, log=boom, timers=Timers(tracker, host=host))
    assert asyncio.run(sender.refresh_ks()) is None
    (failed,) = [d for d in tracker.diagnostics if d["code"] == "ks-provider-failed"]
    assert failed["details"]["where"] == "KS provider" and "ks endpoint down" in failed["details"]["error"]
    (hook,) = [d for d in tracker.diagnostics if d["code"] == "hook-failed"]
    assert hook["details"]["where"] == "sender log" and sdk_errors(tracker) == []
