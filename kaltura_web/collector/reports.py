"""Kaltura's report types over stored events: ``report.getTable`` / ``report.getTotal``.

Pure: events as the store returns them in, plain data out (no Flask, no
SQLite).  docs/reports.md explains every column and how it is derived.

* ``REPORTS``: the definition of each supported type (its grouping, dimension,
  metric and total columns, named as kaltura/server's KAVA reports name them).
* ``report_rows`` / ``order_rows``: the rows of a type, and their order.
* ``report_table`` / ``report_total``: KalturaReportTable / KalturaReportTotal.

The building blocks live beside it: ``filters`` (which events), ``playback``
(sessions and metrics), ``summary`` (the CLI and dashboard overview).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .filters import EventFilter, event_app, filter_events
from .playback import UNKNOWN_USER, engagement_ranking, playback_metrics, playback_sessions
from .values import scalar_text

# Kaltura report types (KalturaReportType)
TOP_CONTENT = 1
CONTENT_DROPOFF = 2
USER_TOP_CONTENT = 13
APPLICATIONS = 16
TOP_CONTENT_CREATOR = 38

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
    """Kaltura-style cell text: integers plain, ratios to at most 4 decimals, no
    figure for a non-finite float (a sum of huge stored values)."""
    if isinstance(value, float) and math.isfinite(value):
        rounded = round(value, 4)
        return str(int(rounded)) if rounded == int(rounded) else repr(rounded)
    return scalar_text(value)


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
        return {"objectType": "KalturaReportTable", "header": self.header, "data": self.data,
                "totalCount": self.total_count}


@dataclass
class ReportTotal:
    header: str
    data: str
    values: dict

    def as_kaltura(self) -> dict:
        return {"objectType": "KalturaReportTotal", "header": self.header, "data": self.data}


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
