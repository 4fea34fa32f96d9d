"""pytest plugin: a local Kaltura-compatible collector for your tests.

Fixtures:

* ``kaltura_collector_server`` (session scope): a ``CollectorServer`` on a free
  port of 127.0.0.1 with a temporary SQLite database; one per test session, so
  the origin (and browser pages) stay the same across tests.
* ``kaltura_collector`` (function scope): a ``CollectorHandle`` on that server,
  with events and faults reset before the test.

Session assertions take event types as catalog names (``"PLAY"``,
``"PageLoad"``) or numbers: ``assert_session`` is exact (the whole session,
nothing more), ``assert_session_starts_with`` checks a prefix,
``assert_session_contains`` an in-order subsequence, and ``wait_for_session``
polls until a prefix and/or subsequence is stored.  They look at the
session's playback events (``service="stats"``): a trackEvent that carries
the session id (a click during playback) travels in its own queue, so where
it falls among them is not fixed; ``service="analytics"`` or ``None`` (every
event with the id) choose otherwise.

The collector stores every arrival, as Kaltura does (it de-duplicates nothing):
a beacon that arrives again is stored again, marked ``duplicate_of`` its first
arrival.  The handle's event views (``events``, the waits, the session
assertions, ``verify``) show each beacon once, at its first arrival, so they
state what the SDK reported; ``duplicates()`` lists the beacons that arrived
more than once and ``assert_stored_once`` fails on them, and
``events(duplicates=True)`` / ``verify(duplicates=True)`` show every arrival
as Kaltura would count it.

Flask is imported only when a fixture is used, so the plugin loads without the
``collector`` extras installed.
"""

from __future__ import annotations

import math
import time

import pytest

from .core.catalog import APPLICATION_EVENTS, STATS_EVENT_TYPES, STATS_TYPE_BY_NAME

EVENT_NAMES = {**STATS_EVENT_TYPES, **APPLICATION_EVENTS}  # number -> catalog name
EVENT_NUMBERS = {name: num for num, name in EVENT_NAMES.items()}


def event_number(value, argument="types"):
    """The number of an event type given by catalog name ('PLAY', 'PageLoad') or number."""
    if isinstance(value, str):
        if value not in EVENT_NUMBERS:
            raise ValueError(f"{argument}: unknown event name {value!r} (names are those of kaltura_web.core.catalog)")
        return EVENT_NUMBERS[value]
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{argument}: an event type is a catalog name or an int, not {value!r}")
    return value


def event_numbers(types, argument="types") -> list:
    """A list of event type numbers from a list of names and/or numbers."""
    if isinstance(types, (str, bytes)) or not hasattr(types, "__iter__"):
        raise TypeError(f"{argument} must be a list of event names or numbers, not {types!r}")
    return [event_number(t, argument) for t in types]


def describe(numbers) -> str:
    """Event types for a message: [WIDGET_LOADED(1), PLAY(3), ...]."""
    return "[" + ", ".join(f"{EVENT_NAMES.get(n, '?')}({n})" for n in numbers) + "]"


def _session_id(session_id):
    if not isinstance(session_id, str):
        raise TypeError(f"session_id must be a str, not {session_id!r}")
    if not session_id:
        raise ValueError("session_id must not be empty")
    return session_id


def _timeout(timeout):
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(f"timeout must be a number of seconds, not {timeout!r}")
    if not (math.isfinite(timeout) and timeout > 0):
        raise ValueError(f"timeout must be finite and positive, not {timeout!r}")
    return timeout


class SessionCondition:
    """What a session's event types must satisfy: start with ``starts_with``
    and/or contain ``contains`` in order (other events may come between)."""

    def __init__(self, starts_with=None, contains=None):
        if starts_with is None and contains is None:
            raise TypeError("give starts_with= and/or contains= (a list of event names or numbers)")
        self.starts_with = None if starts_with is None else self._nonempty(starts_with, "starts_with")
        self.contains = None if contains is None else self._nonempty(contains, "contains")

    @staticmethod
    def _nonempty(types, argument):
        numbers = event_numbers(types, argument)
        if not numbers:
            raise ValueError(f"{argument} must name at least one event (an empty list always holds)")
        return numbers

    def holds(self, got) -> bool:
        if self.starts_with is not None and got[:len(self.starts_with)] != self.starts_with:
            return False
        if self.contains is not None:
            rest = iter(got)
            return all(any(g == want for g in rest) for want in self.contains)
        return True

    def __str__(self):
        parts = []
        if self.starts_with is not None:
            parts.append(f"start with {describe(self.starts_with)}")
        if self.contains is not None:
            parts.append(f"contain {describe(self.contains)} in this order")
        return " and ".join(parts)


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
    """What a test gets from ``kaltura_collector`` (in-process access).

    ``sleep`` and ``monotonic`` pace the ``wait_for_*`` polls (injectable for tests)."""

    def __init__(self, server, sleep=time.sleep, monotonic=time.monotonic):
        self.server = server
        self.base_url = server.base_url
        self.service_url = server.service_url
        self.analytics_url = server.analytics_url
        self.partner_id = server.partner_id
        self.faults = FaultControl(server.faults)
        self._sleep = sleep
        self._monotonic = monotonic

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

    def events(self, session_id=None, event_type=None, service=None, entry_id=None,
               duplicates=False, **more) -> list:
        """Stored events in arrival order, each beacon once (its first arrival) unless
        ``duplicates=True``; ``event_type`` is a catalog name or a number."""
        if event_type is not None:
            event_type = event_number(event_type, "event_type")
        return self.server.store.events(session_id=session_id, event_type=event_type,
                                        service=service, entry_id=entry_id,
                                        duplicates=bool(duplicates), **more)

    def duplicates(self) -> list:
        """Beacon ids stored more than once (each arrival after the first is a row of
        its own, as on Kaltura), in order of their first arrival."""
        return self.server.store.duplicates()

    def assert_stored_once(self, may_repeat=()) -> None:
        """Every stored event has a beacon id and none arrived more than once, except
        the beacon ids in ``may_repeat`` (a re-send the test provokes on purpose)."""
        if isinstance(may_repeat, (str, bytes)):
            raise TypeError(f"may_repeat must be a list of beacon ids, not {may_repeat!r}")
        missing = [e["seq"] for e in self.events(duplicates=True) if not e["beacon_id"]]
        if missing:
            raise AssertionError(f"events stored without a beacon id (seq {missing})")
        allowed = set(may_repeat)
        again = [b for b in self.duplicates() if b not in allowed]
        if again:
            raise AssertionError(f"beacons stored more than once (Kaltura would count each "
                                 f"arrival): {again}")

    def sessions(self) -> list:
        return self.server.store.sessions()

    def _poll(self, read, done, timeout, failure):
        """``read()`` until ``done(value)``; after ``timeout`` s, AssertionError(``failure(value)``)."""
        deadline = self._monotonic() + _timeout(timeout)
        delay = 0.01
        while True:
            value = read()
            if done(value):
                return value
            if self._monotonic() >= deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {failure(value)}")
            self._sleep(delay)
            delay = min(delay * 2, 0.2)

    def wait_for_events(self, count=None, predicate=None, timeout=10.0, **filters) -> list:
        """Poll until the filtered events number at least ``count`` (default 1) and
        ``predicate(events)`` (if given) is true; returns them."""
        want = 1 if count is None else count

        def failure(events):
            seen = [(e["seq"], e["service"], e["event_type"], e["session_id"]) for e in events]
            return (f"{want} event(s) matching {filters}{' and predicate' if predicate else ''}; "
                    f"saw {len(events)}: {seen}")

        return self._poll(lambda: self.events(**filters),
                          lambda evs: len(evs) >= want and (predicate is None or predicate(evs)),
                          timeout, failure)

    def _mismatch(self, session_id, condition, events) -> str:
        """Why a session fails ``condition`` (a description or SessionCondition), with what was stored."""
        got = [e["event_type"] for e in events]
        text = f"session {session_id!r} to {condition}; got {describe(got)}"
        if not got:
            text += f" (no events with that session id; sessions stored: {self.sessions()})"
        return text

    def assert_session(self, session_id, types, service="stats") -> None:
        """Exact: the session holds exactly ``types`` in this order, nothing before, between or after.
        To allow later events (quartiles reached meanwhile...) use ``assert_session_starts_with``."""
        want = event_numbers(types)
        events = self.events(session_id=_session_id(session_id), service=service)
        if [e["event_type"] for e in events] != want:
            raise AssertionError("expected " + self._mismatch(session_id, f"be exactly {describe(want)}", events))

    def _assert_condition(self, session_id, condition, service) -> list:
        events = self.events(session_id=_session_id(session_id), service=service)
        if not condition.holds([e["event_type"] for e in events]):
            raise AssertionError("expected " + self._mismatch(session_id, condition, events))
        return events

    def assert_session_starts_with(self, session_id, types, service="stats") -> list:
        """The session's first events are ``types``, in order (any may follow); returns its events."""
        return self._assert_condition(session_id, SessionCondition(starts_with=types), service)

    def assert_session_contains(self, session_id, types, service="stats") -> list:
        """The session holds ``types`` in this order, not necessarily adjacent; returns its events."""
        return self._assert_condition(session_id, SessionCondition(contains=types), service)

    def wait_for_session(self, session_id, starts_with=None, contains=None, timeout=10.0,
                         service="stats") -> list:
        """Poll until the session starts with ``starts_with`` and/or contains ``contains``
        in order; returns its events, or fails showing what was stored."""
        condition = SessionCondition(starts_with, contains)
        sid = _session_id(session_id)
        return self._poll(lambda: self.events(session_id=sid, service=service),
                          lambda evs: condition.holds([e["event_type"] for e in evs]),
                          timeout, lambda evs: self._mismatch(sid, condition, evs))

    def verify(self, duplicates=False, warnings=False) -> list:
        """The linter's findings over the events, each beacon once; ``duplicates=True``
        lints every arrival (repeats then count as events and are flagged
        ``duplicate-beacon``); ``warnings=True`` adds the warnings (``severity``
        "warning") after the violations."""
        from .collector.linter import lint

        return lint(self.events(duplicates=duplicates), warnings=warnings)


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
