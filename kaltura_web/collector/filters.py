"""Which stored events a report or the dashboard looks at.

Pure: events are dicts as the store returns them (seq, received_at, service,
entry_id, event_type, session_id, event_timestamp, user_id, app_id, fields,
duplicate_of).

* ``event_time``: when an event happened (its eventTimestamp, else its arrival).
* ``event_app``: the application it belongs to (its application fields, else the KS appId).
* ``EventFilter`` + ``filter_events``: time range, entries, users, applications.
* ``repeated_arrivals``: the events that repeat a beacon stored before them.
"""

from __future__ import annotations

from dataclasses import dataclass

from .values import finite


def event_time(ev) -> float:
    """When an event happened: its eventTimestamp (Unix seconds) when it has a
    finite one, else the time the collector received it (0 if neither is)."""
    ts = finite(ev.get("event_timestamp"))
    if ts is None:
        ts = finite(ev.get("received_at"))
    return 0.0 if ts is None else ts


# the event fields naming an application, in the order they are read: trackEvent's
# kalturaApplication, stats.collect's applicationId, KAVA's application
APP_FIELDS = ("kalturaApplication", "applicationId", "application")


def named_text(fields, names):
    """The first of ``names`` that ``fields`` holds as non-blank text or a
    number, as text; None when none does."""
    for name in names:
        value = fields.get(name)
        if isinstance(value, (str, int, float)) and not isinstance(value, bool) and str(value).strip():
            return str(value)
    return None


def event_app(ev):
    """The application of an event: its own application field (``APP_FIELDS``),
    else the ``app_id`` stored with it (the KS ``appId`` privilege for events
    stored before the collector read the fields); None when neither."""
    return named_text(ev.get("fields") or {}, APP_FIELDS) or ev.get("app_id") or None


def repeated_arrivals(events) -> list:
    """The events the store marked as a repeated arrival of a beacon (``duplicate_of``
    set: Kaltura stores and counts them again), in the order given."""
    return [ev for ev in events if ev.get("duplicate_of") is not None]


def as_set(value):
    """A set of ids from a comma-separated string or an iterable; None for none."""
    if value is None:
        return None
    if isinstance(value, str):
        items = [v.strip() for v in value.split(",")]
    else:
        items = [str(v).strip() for v in value]
    items = {v for v in items if v}
    return items or None


@dataclass
class EventFilter:
    """Which events a report looks at.  ``None`` means "no restriction".

    ``from_date``/``to_date`` are inclusive Unix seconds on ``event_time``;
    ``entry_ids``, ``user_ids`` and ``apps`` are sets (a comma-separated string
    is accepted too); ``scope_app`` is the appId of the KS asking (guide 9.1:
    such a KS only sees that application's events) and combines with ``apps``.
    """

    from_date: float | None = None
    to_date: float | None = None
    entry_ids: set | None = None
    user_ids: set | None = None
    apps: set | None = None
    scope_app: str | None = None

    def __post_init__(self):
        self.entry_ids = as_set(self.entry_ids)
        self.user_ids = as_set(self.user_ids)
        self.apps = as_set(self.apps)

    def restrict(self, name, ids) -> None:
        """Narrow ``entry_ids``, ``user_ids`` or ``apps`` (``name``) to ``ids`` as
        well (``ids`` None: no restriction)."""
        current = getattr(self, name)
        if ids is None:
            return
        setattr(self, name, ids if current is None else current & ids)

    def accepts(self, ev) -> bool:
        t = event_time(ev)
        if self.from_date is not None and t < self.from_date:
            return False
        if self.to_date is not None and t > self.to_date:
            return False
        if self.entry_ids is not None and ev.get("entry_id") not in self.entry_ids:
            return False
        if self.user_ids is not None and (ev.get("user_id") or "") not in self.user_ids:
            return False
        app = event_app(ev)
        if self.scope_app is not None and app != self.scope_app:
            return False
        if self.apps is not None and app not in self.apps:
            return False
        return True

    def as_dict(self) -> dict:
        return {"fromDate": self.from_date, "toDate": self.to_date,
                "entryIds": sorted(self.entry_ids) if self.entry_ids else None,
                "userIds": sorted(self.user_ids) if self.user_ids else None,
                "apps": sorted(self.apps) if self.apps else None,
                "scopeApp": self.scope_app}


def filter_events(events, flt: EventFilter | None) -> list:
    if flt is None:
        return list(events)
    return [ev for ev in events if flt.accepts(ev)]
