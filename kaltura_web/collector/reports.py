"""Reports over stored events: the figures behind ``report.getTable`` /
``report.getTotal``, ``kaltura-web report`` and the dashboard.

Everything here is pure: functions take events as the store returns them
(dicts with seq, received_at, service, entry_id, event_type, session_id,
event_timestamp, user_id, app_id, fields) and return plain data.  No Flask, no
SQLite.  docs/reports.md explains every column and how it is derived.

Building blocks:

* ``EventFilter`` + ``filter_events``: time range, entries, users, applications.
* ``playback_sessions``: one ``PlaybackSession`` per (sessionId, entryId) of the
  stats.collect events: plays, loads, quartiles reached, buffering, furthest
  playhead, completion.
* ``playback_metrics``: Kaltura's metric columns for a group of sessions.
* ``report_table`` / ``report_total``: the Kaltura report types.
* ``summary``: the terminal/dashboard overview.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..core.catalog import BUTTON_CLICKED, PAGE_LOAD
from .values import finite

# stats.collect types used here (catalog.STATS_EVENT_TYPES)
MEDIA_LOADED, PLAY, REPLAY = 2, 3, 16
WIDGET_LOADED = 1
QUARTILE_TYPES = {4: 25, 5: 50, 6: 75, 7: 100}
BUFFER_START = 12
OPEN_VIRAL = 9

# Kaltura report types (KalturaReportType)
TOP_CONTENT = 1
CONTENT_DROPOFF = 2
USER_TOP_CONTENT = 13
APPLICATIONS = 16
TOP_CONTENT_CREATOR = 38

UNKNOWN_USER = "Unknown"

# ---------------------------------------------------------------- filtering


def event_time(ev) -> float:
    """When an event happened: its eventTimestamp (Unix seconds) when it has a
    finite one, else the time the collector received it (0 if neither is)."""
    ts = finite(ev.get("event_timestamp"))
    if ts is None:
        ts = finite(ev.get("received_at"))
    return 0.0 if ts is None else ts


def event_app(ev):
    """The application of an event: the KS ``appId`` privilege it was sent
    under, else the trackEvent ``kalturaApplication`` field; None when neither."""
    if ev.get("app_id"):
        return ev["app_id"]
    fields = ev.get("fields") or {}
    app = fields.get("kalturaApplication") or fields.get("application")
    return str(app) if app else None


def _as_set(value):
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
        self.entry_ids = _as_set(self.entry_ids)
        self.user_ids = _as_set(self.user_ids)
        self.apps = _as_set(self.apps)

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


# ---------------------------------------------------------------- playback sessions


@dataclass
class PlaybackSession:
    """What one playback session (sessionId + entryId, stats.collect only) did."""

    session_id: str
    entry_id: str
    user_id: str | None = None
    app: str | None = None
    first_time: float | None = None
    last_time: float | None = None
    events: int = 0
    plays: int = 0          # PLAY (3) events
    replays: int = 0        # REPLAY (16) events
    loads: int = 0          # MEDIA_LOADED (2) events: Kaltura's "player impressions"
    widget_loads: int = 0   # WIDGET_LOADED (1)
    buffer_starts: int = 0  # BUFFER_START (12)
    shares: int = 0         # OPEN_VIRAL (9)
    quartiles: set = field(default_factory=set)  # {25, 50, 75, 100} reached
    duration: float | None = None   # content duration (seconds), latest reported
    furthest: float = 0.0           # furthest playhead position reported (seconds)

    @property
    def played(self) -> bool:
        return self.plays > 0 or self.replays > 0

    @property
    def viewed_seconds(self) -> float:
        """Seconds of content viewed: the furthest point the playhead reached,
        taken from currentPoint values and from the highest quartile reached
        (quartile x duration), capped at the duration."""
        best = self.furthest
        if self.duration and self.quartiles:
            best = max(best, max(self.quartiles) / 100.0 * self.duration)
        if self.duration:
            best = min(best, self.duration)
        return max(best, 0.0)

    @property
    def completion(self) -> float:
        """Fraction of the content viewed (0..1): viewed_seconds / duration, or,
        without a duration, the highest quartile reached."""
        if self.duration:
            return min(self.viewed_seconds / self.duration, 1.0)
        return max(self.quartiles) / 100.0 if self.quartiles else 0.0


def playback_sessions(events) -> list[PlaybackSession]:
    """Group stats.collect events by (sessionId, entryId), in order of first arrival."""
    sessions: dict[tuple, PlaybackSession] = {}
    for ev in sorted(events, key=lambda e: e.get("seq") or 0):
        if ev.get("service", "stats") != "stats" or not ev.get("session_id"):
            continue
        key = (ev["session_id"], ev.get("entry_id") or "")
        s = sessions.get(key)
        if s is None:
            s = sessions[key] = PlaybackSession(session_id=key[0], entry_id=key[1])
        s.events += 1
        if ev.get("user_id") and not s.user_id:
            s.user_id = ev["user_id"]
        if not s.app:
            s.app = event_app(ev)
        t = event_time(ev)
        s.first_time = t if s.first_time is None else min(s.first_time, t)
        s.last_time = t if s.last_time is None else max(s.last_time, t)
        kind = ev.get("event_type")
        if kind == PLAY:
            s.plays += 1
        elif kind == REPLAY:
            s.replays += 1
        elif kind == MEDIA_LOADED:
            s.loads += 1
        elif kind == WIDGET_LOADED:
            s.widget_loads += 1
        elif kind == BUFFER_START:
            s.buffer_starts += 1
        elif kind == OPEN_VIRAL:
            s.shares += 1
        elif kind in QUARTILE_TYPES:
            s.quartiles.add(QUARTILE_TYPES[kind])
        fields = ev.get("fields") or {}
        duration = finite(fields.get("duration"))
        if duration and duration > 0:
            s.duration = duration
        point = finite(fields.get("currentPoint"))
        if point is not None and point > s.furthest:
            s.furthest = point
    return list(sessions.values())


# ---------------------------------------------------------------- metrics


def _ratio(a, b):
    return a / b if b else 0.0


def playback_metrics(sessions) -> dict:
    """Kaltura's metric columns for a group of playback sessions."""
    sessions = list(sessions)
    plays = sum(s.plays for s in sessions)
    loads = sum(s.loads for s in sessions)
    reached = {q: sum(1 for s in sessions if q in s.quartiles) for q in (25, 50, 75, 100)}
    viewed_minutes = sum(s.viewed_seconds for s in sessions if s.played) / 60.0
    completion_sum = sum(s.completion for s in sessions if s.played)
    users = {s.user_id for s in sessions if s.played and s.user_id}
    played_sessions = [s for s in sessions if s.played]
    return {
        "count_plays": plays,
        "count_loads": loads,
        "count_plays_25": reached[25],
        "count_plays_50": reached[50],
        "count_plays_75": reached[75],
        "count_plays_100": reached[100],
        "play_through_ratio": _ratio(reached[100], plays),
        "sum_time_viewed": viewed_minutes,
        "avg_time_viewed": _ratio(viewed_minutes, plays),
        "load_play_ratio": _ratio(plays, loads),
        "avg_view_drop_off": _ratio(sum(reached.values()) / 4.0, plays),
        "unique_known_users": len(users),
        "avg_completion_rate": _ratio(completion_sum, plays),
        "unique_videos": len({s.entry_id for s in played_sessions}),
        "count_viral": sum(s.shares for s in sessions),
        "unique_sessions": len(played_sessions),
        "buffer_events": sum(s.buffer_starts for s in sessions),
    }


def engagement_ranking(row: dict, max_plays: int, max_users: int) -> float:
    """Kaltura's engagement score (0..10): 5 x plays / most plays of any row,
    + 2.5 x unique users / most users of any row, + completion percent x 0.025
    (at most 2.5)."""
    score = 5.0 * _ratio(row["count_plays"], max_plays)
    score += 2.5 * _ratio(row["unique_known_users"], max_users)
    score += min(row["avg_completion_rate"] * 100.0 * 0.025, 2.5)
    return score


# ---------------------------------------------------------------- report definitions

_ENTRY_METRICS = ("count_plays", "sum_time_viewed", "avg_time_viewed", "count_loads",
                  "load_play_ratio", "avg_view_drop_off", "unique_known_users")

REPORTS = {
    TOP_CONTENT: {
        "name": "TOP_CONTENT", "group": "entry",
        "dimensions": ("object_id", "entry_name"),
        "metrics": _ENTRY_METRICS,
        "total": _ENTRY_METRICS,
    },
    CONTENT_DROPOFF: {
        "name": "CONTENT_DROPOFF", "group": "entry",
        "dimensions": ("object_id", "entry_name"),
        "metrics": ("count_plays", "count_plays_25", "count_plays_50", "count_plays_75",
                    "count_plays_100", "play_through_ratio", "count_loads"),
        "total": ("count_plays", "count_plays_25", "count_plays_50", "count_plays_75",
                  "count_plays_100", "play_through_ratio", "count_loads"),
    },
    USER_TOP_CONTENT: {
        "name": "USER_TOP_CONTENT", "group": "user",
        "dimensions": ("name",),
        "metrics": ("unique_videos", "count_plays", "sum_time_viewed", "avg_time_viewed",
                    "avg_view_drop_off", "count_loads", "load_play_ratio", "avg_completion_rate",
                    "count_viral"),
        "total": ("unique_known_users", "unique_videos", "count_plays", "sum_time_viewed",
                  "avg_time_viewed", "avg_view_drop_off", "count_loads", "load_play_ratio",
                  "avg_completion_rate", "count_viral"),
    },
    APPLICATIONS: {
        "name": "APPLICATIONS", "group": "app",
        "dimensions": ("name",),
        "metrics": (),
        "total": (),
    },
    TOP_CONTENT_CREATOR: {
        "name": "TOP_CONTENT_CREATOR", "group": "entry",
        "dimensions": ("object_id", "entry_name", "creator_name", "created_at", "status",
                       "media_type", "duration_msecs", "entry_source"),
        "metrics": _ENTRY_METRICS + ("engagement_ranking", "avg_completion_rate"),
        "total": _ENTRY_METRICS,
    },
}

REPORT_NAMES = {num: d["name"] for num, d in REPORTS.items()}


class UnsupportedReport(ValueError):
    """A report type this collector does not compute."""


def _definition(report_type):
    try:
        return REPORTS[int(report_type)]
    except (KeyError, TypeError, ValueError):
        raise UnsupportedReport(str(report_type)) from None


def _entry_dimensions(entry_id, sessions) -> dict:
    durations = [s.duration for s in sessions if s.duration]
    msecs = max(durations) * 1000 if durations else None
    return {
        "object_id": entry_id,
        "entry_name": entry_id,       # no entry catalog here: the id stands for the name
        "creator_name": "",           # unknown to a collector
        "created_at": "",
        "status": "",
        "media_type": "",
        "duration_msecs": int(round(msecs)) if msecs is not None and math.isfinite(msecs) else "",
        "entry_source": "",
    }


def report_rows(report_type, events, flt: EventFilter | None = None) -> list[dict]:
    """Unordered, unpaged rows (dicts keyed by column name) of a report type."""
    definition = _definition(report_type)
    events = filter_events(events, flt)
    group = definition["group"]
    if group == "app":
        apps = sorted({event_app(ev) for ev in events if event_app(ev)})
        return [{"name": app} for app in apps]
    sessions = playback_sessions(events)
    groups: dict[str, list] = {}
    for s in sessions:
        key = s.entry_id if group == "entry" else (s.user_id or UNKNOWN_USER)
        groups.setdefault(key, []).append(s)
    rows = []
    for key, members in groups.items():
        metrics = playback_metrics(members)
        if not metrics["count_plays"] and not metrics["count_loads"]:
            continue  # Kaltura lists only objects with activity
        row = _entry_dimensions(key, members) if group == "entry" else {"name": key}
        row.update(metrics)
        rows.append(row)
    if "engagement_ranking" in definition["metrics"]:
        max_plays = max((r["count_plays"] for r in rows), default=0)
        max_users = max((r["unique_known_users"] for r in rows), default=0)
        for row in rows:
            row["engagement_ranking"] = engagement_ranking(row, max_plays, max_users)
    return rows


def order_rows(rows, order, definition) -> list[dict]:
    """Sort by ``order`` ("-col" descending, "+col"/"col" ascending); default:
    the first metric descending (name ascending for dimension-only reports).
    Ties keep a stable order by the first dimension."""
    dim = definition["dimensions"][0]
    columns = definition["dimensions"] + definition["metrics"]
    order = (order or "").strip()
    if order:
        desc = order.startswith("-")
        column = order.lstrip("+-")
        if column not in columns:
            column, desc = None, False
    else:
        column, desc = (definition["metrics"][0], True) if definition["metrics"] else (dim, False)
    rows = sorted(rows, key=lambda r: str(r[dim]))
    if column is not None:
        rows = sorted(rows, key=lambda r: _sort_key(r[column]), reverse=desc)
    return rows


def _sort_key(value):
    if isinstance(value, (int, float)):
        return (0, value, "")
    return (1, 0, str(value))


def format_value(value) -> str:
    """Kaltura-style cell text: integers plain, ratios to at most 4 decimals."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):  # a sum of huge stored values: no figure
            return ""
        rounded = round(value, 4)
        if rounded == int(rounded):
            return str(int(rounded))
        return repr(rounded)
    return str(value)


def _cell(value, delimiter) -> str:
    # Kaltura replaces separators inside values with spaces instead of escaping them.
    text = format_value(value)
    return text.replace(delimiter, " ").replace(";", " ") if delimiter else text.replace(";", " ")


@dataclass
class ReportTable:
    header: str
    data: str
    total_count: int
    rows: list  # the page's rows as dicts, for callers that want structure

    def as_kaltura(self) -> dict:
        return {"header": self.header, "data": self.data, "totalCount": self.total_count,
                "objectType": "KalturaReportTable"}


@dataclass
class ReportTotal:
    header: str
    data: str
    values: dict

    def as_kaltura(self) -> dict:
        return {"header": self.header, "data": self.data, "objectType": "KalturaReportTotal"}


def report_table(report_type, events, flt: EventFilter | None = None, page_size=30,
                 page_index=1, order=None, delimiter=",") -> ReportTable:
    """A KalturaReportTable: ``header`` = column names joined by the delimiter,
    ``data`` = one ``row;`` per row (columns joined by the delimiter, each row
    followed by ``;``), ``totalCount`` = rows before paging."""
    definition = _definition(report_type)
    delimiter = delimiter or ","
    rows = order_rows(report_rows(report_type, events, flt), order, definition)
    total = len(rows)
    page_size = max(int(page_size or 30), 1)
    page_index = max(int(page_index or 1), 1)
    page = rows[(page_index - 1) * page_size: page_index * page_size]
    columns = definition["dimensions"] + definition["metrics"]
    header = delimiter.join(columns)
    data = "".join(delimiter.join(_cell(row[c], delimiter) for c in columns) + ";" for row in page)
    return ReportTable(header=header, data=data, total_count=total,
                       rows=[{c: row[c] for c in columns} for row in page])


def report_total(report_type, events, flt: EventFilter | None = None,
                 delimiter=",") -> ReportTotal:
    """A KalturaReportTotal: the report's total columns over all matching
    events (ratios recomputed from the sums, not averaged over rows)."""
    definition = _definition(report_type)
    delimiter = delimiter or ","
    columns = definition["total"]
    if not columns:
        return ReportTotal(header="", data="", values={})
    events = filter_events(events, flt)
    sessions = playback_sessions(events)
    metrics = playback_metrics(sessions)
    values = {c: metrics[c] for c in columns}
    return ReportTotal(header=delimiter.join(columns),
                       data=delimiter.join(_cell(values[c], delimiter) for c in columns),
                       values=values)


# ---------------------------------------------------------------- overview (CLI, dashboard)


def _group_summary(sessions) -> dict:
    m = playback_metrics(sessions)
    plays = m["count_plays"]
    return {
        "plays": plays,
        "sessions": m["unique_sessions"],
        "loads": m["count_loads"],
        "reach": {str(q): m[f"count_plays_{q}"] for q in (25, 50, 75, 100)},
        "avgCompletion": round(m["avg_completion_rate"], 4),
        "bufferEvents": m["buffer_events"],
        "uniqueUsers": m["unique_known_users"],
        "minutesViewed": round(m["sum_time_viewed"], 4),
    }


def _count_by(events, event_type, field_name) -> dict:
    out: dict[str, int] = {}
    for ev in events:
        if ev.get("service") == "analytics" and ev.get("event_type") == event_type:
            key = str((ev.get("fields") or {}).get(field_name) or "(none)")
            out[key] = out.get(key, 0) + 1
    return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))


def summary(events, flt: EventFilter | None = None) -> dict:
    """The overview ``kaltura-web report`` prints and the dashboard draws:
    totals, then the same figures per entry, application and user, and page
    loads / button clicks by pageType / buttonName."""
    events = filter_events(events, flt)
    sessions = playback_sessions(events)
    analytics = [ev for ev in events if ev.get("service") == "analytics"]

    def grouped(key_fn):
        groups: dict[str, list] = {}
        for s in sessions:
            groups.setdefault(key_fn(s), []).append(s)
        out = []
        for key, members in groups.items():
            row = {"name": key}
            row.update(_group_summary(members))
            out.append(row)
        return sorted(out, key=lambda r: (-r["plays"], r["name"]))

    apps = grouped(lambda s: s.app or "(none)")
    by_app_pages: dict[str, dict] = {}
    for ev in analytics:
        name = event_app(ev) or "(none)"
        slot = by_app_pages.setdefault(name, {"pageLoads": 0, "buttonClicks": 0})
        if ev.get("event_type") == PAGE_LOAD:
            slot["pageLoads"] += 1
        elif ev.get("event_type") == BUTTON_CLICKED:
            slot["buttonClicks"] += 1
    known = {row["name"] for row in apps}
    for name in sorted(set(by_app_pages) - known):
        row = {"name": name}
        row.update(_group_summary([]))
        apps.append(row)
    for row in apps:
        row.update(by_app_pages.get(row["name"], {"pageLoads": 0, "buttonClicks": 0}))

    totals = _group_summary(sessions)
    totals["events"] = len(events)
    totals["pageLoads"] = sum(1 for ev in analytics if ev.get("event_type") == PAGE_LOAD)
    totals["buttonClicks"] = sum(1 for ev in analytics if ev.get("event_type") == BUTTON_CLICKED)
    return {
        "filter": flt.as_dict() if flt else EventFilter().as_dict(),
        "totals": totals,
        "entries": grouped(lambda s: s.entry_id),
        "applications": apps,
        "users": grouped(lambda s: s.user_id or UNKNOWN_USER),
        "pageLoadsByPageType": _count_by(analytics, PAGE_LOAD, "pageType"),
        "buttonClicksByButtonName": _count_by(analytics, BUTTON_CLICKED, "buttonName"),
    }
