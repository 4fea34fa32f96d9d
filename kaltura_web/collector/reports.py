"""Kaltura's report types over stored events: ``report.getTable`` / ``report.getTotal``.

Pure: events as the store returns them in, plain data out (no Flask, no
SQLite).  docs/reports.md explains every column and how it is derived.

* ``REPORTS``: the definition of each supported type (its grouping, dimension,
  metric and total columns, named as kaltura/server's KAVA reports name them).
* ``report_rows`` / ``order_rows``: the rows of a type, and their order.
* ``report_table`` / ``report_total``: KalturaReportTable / KalturaReportTotal.

Reports are computed from KAVA playback events where a session has them and
from stats.collect events otherwise (``playback``).  The building blocks live
beside it: ``filters`` (which events), ``playback`` (sessions and metrics),
``summary`` (the CLI and dashboard overview).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .filters import EventFilter, event_app, filter_events
from .playback import (UNKNOWN_USER, engagement_ranking, entry_durations, playback_metrics,
                       playback_sessions)
from .values import scalar_text

# Kaltura report types (KalturaReportType)
TOP_CONTENT = 1
CONTENT_DROPOFF = 2
USER_TOP_CONTENT = 13
APPLICATIONS = 16
TOP_CONTENT_CREATOR = 38

# ---------------------------------------------------------------- report definitions
# Column names and order as kaltura/server's KAVA reports define them
# (alpha/apps/kaltura/lib/reports/kKavaReports.php; names in kKavaReportsMgr.class.php).

_TOP_CONTENT_METRICS = ("count_plays", "sum_time_viewed", "avg_time_viewed", "count_loads",
                        "load_play_ratio", "avg_view_drop_off", "unique_known_users",
                        "sum_view_period", "avg_view_period_time", "avg_completion_rate")
_DROPOFF_METRICS = ("count_plays", "count_plays_25", "count_plays_50", "count_plays_75",
                    "count_plays_100", "play_through_ratio", "count_loads")

REPORTS = {
    TOP_CONTENT: {
        "name": "TOP_CONTENT", "group": "entry",
        "dimensions": ("object_id", "entry_name"),
        "metrics": _TOP_CONTENT_METRICS,
        "total": _TOP_CONTENT_METRICS,
    },
    CONTENT_DROPOFF: {
        "name": "CONTENT_DROPOFF", "group": "entry",
        "dimensions": ("object_id", "entry_name"),
        "metrics": _DROPOFF_METRICS,
        "total": _DROPOFF_METRICS,
    },
    USER_TOP_CONTENT: {
        "name": "USER_TOP_CONTENT", "group": "user",
        "dimensions": ("name", "full_name"),
        "metrics": ("unique_videos", "count_plays", "sum_time_viewed", "avg_time_viewed",
                    "avg_view_drop_off", "count_loads", "load_play_ratio", "avg_completion_rate",
                    "count_viral", "total_completion_rate", "sum_view_period",
                    "avg_view_period_time"),
        "total": ("unique_known_users", "unique_videos", "count_plays", "sum_time_viewed",
                  "avg_time_viewed", "avg_view_drop_off", "count_loads", "load_play_ratio",
                  "avg_completion_rate", "count_viral", "unique_viewers", "sum_view_period",
                  "avg_view_period_time"),
    },
    APPLICATIONS: {
        "name": "APPLICATIONS", "group": "app",
        "dimensions": ("name",),
        "metrics": (),
        "total": (),  # Kaltura's getTotal fails: the report has no metrics
    },
    TOP_CONTENT_CREATOR: {
        "name": "TOP_CONTENT_CREATOR", "group": "entry",
        "dimensions": ("object_id", "entry_name", "creator_name", "created_at", "status",
                       "media_type", "duration_msecs", "entry_source"),
        "metrics": ("count_plays", "sum_time_viewed", "avg_time_viewed", "count_loads",
                    "load_play_ratio", "avg_view_drop_off", "unique_known_users",
                    "engagement_ranking", "avg_completion_rate", "unique_viewers",
                    "sum_view_period", "avg_view_period_time", "total_completion_rate"),
        "total": ("count_plays", "sum_time_viewed", "avg_time_viewed", "count_loads",
                  "load_play_ratio", "avg_view_drop_off", "unique_known_users", "unique_viewers",
                  "sum_view_period", "avg_view_period_time", "avg_completion_rate",
                  "total_completion_rate"),
    },
}

REPORT_NAMES = {num: d["name"] for num, d in REPORTS.items()}


class UnsupportedReport(ValueError):
    """A report type this collector does not compute."""


class ReportHasNoMetrics(ValueError):
    """getTotal of a report without metrics (APPLICATIONS): Kaltura's reports
    manager refuses it ("unsupported query - report has no metrics") and its
    API answers INTERNAL_SERVERL_ERROR."""


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


def _dimensions(group, key, sessions) -> dict:
    if group == "entry":
        return _entry_dimensions(key, sessions)
    # no user catalog here: the user id stands for the full name too
    return {"name": key, "full_name": key}


def report_rows(report_type, events, flt: EventFilter | None = None) -> list[dict]:
    """Unordered, unpaged rows (dicts keyed by column name) of a report type."""
    definition = _definition(report_type)
    events = list(events)
    durations = entry_durations(events)  # the whole store: Kaltura's entry catalog ignores dates
    events = filter_events(events, flt)
    group = definition["group"]
    if group == "app":
        apps = sorted({event_app(ev) for ev in events if event_app(ev)})
        return [{"name": app} for app in apps]
    sessions = playback_sessions(events, durations)
    groups: dict[str, list] = {}
    for s in sessions:
        key = s.entry_id if group == "entry" else (s.user_id or UNKNOWN_USER)
        groups.setdefault(key, []).append(s)
    rows = []
    for key, members in groups.items():
        metrics = playback_metrics(members)
        if not metrics["count_plays"] and not metrics["count_loads"]:
            continue  # Kaltura lists only objects with activity
        row = _dimensions(group, key, members)
        row.update(metrics)
        rows.append(row)
    if "engagement_ranking" in definition["metrics"]:
        max_plays = max((r["count_plays"] for r in rows), default=0)
        max_users = max((r["unique_known_users"] for r in rows), default=0)
        for row in rows:
            row["engagement_ranking"] = engagement_ranking(row, max_plays, max_users)
    return rows


def order_rows(rows, order, definition) -> list[dict]:
    """Sort as Kaltura's reports manager does: by the metric ``order`` names
    ("-col" or "col" descending, "+col" ascending); by default, and when the
    column is not one of the report's metrics, by ``count_plays`` (else the
    first metric) in the direction the sign asks, descending without one.
    Reports without metrics list by name.  Ties keep a stable order by the
    first dimension."""
    dim = definition["dimensions"][0]
    metrics = definition["metrics"]
    rows = sorted(rows, key=lambda r: str(r[dim]))
    if not metrics:
        return rows
    order = (order or "").strip()
    ascending = order.startswith("+")
    column = order[1:] if order[:1] in ("+", "-") else order
    if column not in metrics:
        column = "count_plays" if "count_plays" in metrics else metrics[0]
    return sorted(rows, key=lambda r: _sort_key(r[column]), reverse=not ascending)


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
    events (ratios recomputed from the sums, not averaged over rows).
    Raises ``ReportHasNoMetrics`` for a report without total columns."""
    definition = _definition(report_type)
    delimiter = delimiter or ","
    columns = definition["total"]
    if not columns:
        raise ReportHasNoMetrics(definition["name"])
    events = list(events)
    durations = entry_durations(events)
    sessions = playback_sessions(filter_events(events, flt), durations)
    metrics = playback_metrics(sessions)
    values = {c: metrics[c] for c in columns}
    return ReportTotal(header=delimiter.join(columns),
                       data=delimiter.join(_cell(values[c], delimiter) for c in columns),
                       values=values)
