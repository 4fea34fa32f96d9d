"""pytest plugin: a local Kaltura-compatible collector for your tests.

Fixtures:

* ``kaltura_collector_server`` (session scope): a ``CollectorServer`` on a free
  port of 127.0.0.1 with a temporary SQLite database; one per test session, so
  the origin (and browser pages) stay the same across tests.
* ``kaltura_collector`` (function scope): a ``CollectorHandle`` on that server,
  with events and faults reset before the test.

Flask is imported only when a fixture is used, so the plugin loads without the
``collector`` extras installed.
"""

from __future__ import annotations

import time

import pytest


class FaultControl:
    """Deterministic fault injection on the collection endpoints."""

    def __init__(self, plan):
        self._plan = plan

    def fail_next(self, n: int, status: int = 500):
        self._plan.add({"mode": "status", "status": status, "count": n})
        return self

    def fail_all(self, status: int = 500):
        self._plan.add({"mode": "status", "status": status})
        return self

    def drop_next(self, n: int, when: str = "after"):
        if when not in ("before", "after"):
            raise ValueError("when must be 'before' or 'after'")
        self._plan.add({"mode": f"drop_{when}_body", "count": n})
        return self

    def delay(self, ms: int, count=None):
        self._plan.add({"mode": "delay", "ms": ms, "count": count})
        return self

    def invalid_ks_next(self, n: int):
        self._plan.add({"mode": "invalid_ks", "count": n})
        return self

    def fraction(self, f: float, seed: int, status: int = 500):
        self._plan.add({"mode": "fraction", "fraction": f, "seed": seed, "status": status})
        return self

    def clear(self):
        self._plan.clear()
        return self

    @property
    def applied(self) -> dict:
        """Counters of faults applied, by mode, plus 'total' (delays excluded)."""
        return self._plan.counters()

    @property
    def active(self) -> list:
        return self._plan.rules()


class CollectorHandle:
    """What a test gets from ``kaltura_collector`` (in-process access)."""

    def __init__(self, server):
        self.server = server
        self.base_url = server.base_url
        self.service_url = server.service_url
        self.analytics_url = server.analytics_url
        self.partner_id = server.partner_id
        self.faults = FaultControl(server.faults)

    def ks(self, user_id="tester@example.com", app_id=None, expiry=3600, privileges=None,
           ks_type=0) -> str:
        from .collector.ks import make_ks_v2, parse_privileges

        privs = parse_privileges(privileges)
        if app_id:
            privs["appId"] = app_id
        return make_ks_v2(self.partner_id, self.server.config.admin_secret, user_id, ks_type,
                          int(time.time()) + int(expiry), privs)

    def reset(self):
        self.server.state.reset()

    def events(self, session_id=None, event_type=None, service=None, entry_id=None, **more) -> list:
        return self.server.store.events(session_id=session_id, event_type=event_type,
                                        service=service, entry_id=entry_id, **more)

    def sessions(self) -> list:
        return self.server.store.sessions()

    def wait_for_events(self, count=None, predicate=None, timeout=10.0, **filters) -> list:
        """Poll until the filtered events number at least ``count`` (default 1) and
        ``predicate(events)`` (if given) is true; returns them."""
        want = 1 if count is None else count
        deadline = time.monotonic() + timeout
        delay = 0.01
        while True:
            events = self.events(**filters)
            if len(events) >= want and (predicate is None or predicate(events)):
                return events
            if time.monotonic() >= deadline:
                seen = [(e["seq"], e["service"], e["event_type"], e["session_id"]) for e in events]
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {want} event(s) matching {filters}"
                    f"{' and predicate' if predicate else ''}; saw {len(events)}: {seen}")
            time.sleep(delay)
            delay = min(delay * 2, 0.2)

    def assert_session(self, session_id, types) -> None:
        got = [e["event_type"] for e in self.events(session_id=session_id)]
        want = list(types)
        from .catalog import STATS_TYPE_BY_NAME

        want = [STATS_TYPE_BY_NAME.get(t, t) if isinstance(t, str) else t for t in want]
        assert got == want, f"session {session_id!r}: expected event types {want}, got {got}"

    def verify(self) -> list:
        from .collector.linter import lint

        return lint(self.server.store.events())


@pytest.fixture(scope="session")
def kaltura_collector_server(tmp_path_factory):
    """A collector on a free local port for the whole test session."""
    from .collector.server import CollectorServer

    db = tmp_path_factory.mktemp("kaltura_collector") / "events.db"
    server = CollectorServer(db=db, port=0).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def kaltura_collector(kaltura_collector_server):
    """The session's collector with events and faults reset for this test."""
    handle = CollectorHandle(kaltura_collector_server)
    handle.reset()
    yield handle
    handle.faults.clear()
