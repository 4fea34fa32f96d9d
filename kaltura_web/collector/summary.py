"""The overview ``kaltura-web report`` prints and the dashboard draws (``/dev/summary``).

Pure: events as the store returns them in, plain data out.  Playback comes from
KAVA sessions and stats.collect sessions alike (``playback``).  Every arrival counts
(a repeated beacon included, as Kaltura would count it); the repeats are also
listed, so a re-send is visible rather than silently counted.
"""

from __future__ import annotations

from ..core.catalog import BUTTON_CLICKED, PAGE_LOAD
from .filters import EventFilter, event_app, filter_events, repeated_arrivals
from .playback import KAVA, STATS, UNKNOWN_USER, entry_durations, playback_metrics, split_sessions


def _group_summary(sessions) -> dict:
    m = playback_metrics(sessions)
    return {
        "plays": m["count_plays"],
        "sessions": m["unique_sessions"],
        "loads": m["count_loads"],
        "reach": {str(q): m[f"count_plays_{q}"] for q in (25, 50, 75, 100)},
        "avgCompletion": round(m["avg_completion_rate"] / 100.0, 4),  # a ratio here, a percent in reports
        "bufferEvents": m["buffer_events"],
        "uniqueUsers": m["unique_known_users"],
        "minutesViewed": round(m["sum_view_period"], 4),
    }


def _grouped(sessions, key_fn) -> list:
    """One summary row per key of ``key_fn(session)``, most plays first."""
    groups: dict[str, list] = {}
    for s in sessions:
        groups.setdefault(key_fn(s), []).append(s)
    rows = [dict(name=key, **_group_summary(members)) for key, members in groups.items()]
    return sorted(rows, key=lambda r: (-r["plays"], r["name"]))


def _count_by(events, event_type, field_name) -> dict:
    out: dict[str, int] = {}
    for ev in events:
        if ev.get("event_type") == event_type:
            key = str((ev.get("fields") or {}).get(field_name) or "(none)")
            out[key] = out.get(key, 0) + 1
    return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))


def _page_counts(analytics) -> dict:
    """{"pageLoads", "buttonClicks"} of trackEvent events."""
    types = [ev.get("event_type") for ev in analytics]
    return {"pageLoads": types.count(PAGE_LOAD), "buttonClicks": types.count(BUTTON_CLICKED)}


def _applications(sessions, analytics) -> list:
    """Per application: the playback figures plus its page loads and button clicks."""
    apps = _grouped(sessions, lambda s: s.app or "(none)")
    by_app: dict[str, list] = {}
    for ev in analytics:
        by_app.setdefault(event_app(ev) or "(none)", []).append(ev)
    known = {row["name"] for row in apps}
    apps += [dict(name=name, **_group_summary([])) for name in sorted(set(by_app) - known)]
    for row in apps:
        row.update(_page_counts(by_app.get(row["name"], [])))
    return apps


def summary(events, flt: EventFilter | None = None) -> dict:
    """Totals, then the same figures per entry, application and user, page
    loads / button clicks by pageType / buttonName, and the repeated beacons.
    ``totals.protocols``: the playback sessions counted per protocol (KAVA,
    stats.collect); ``totals.coveredStatsSessions``: stats.collect sessions left
    out because a KAVA session reports the same playback ("both" mode)."""
    events = list(events)
    durations = entry_durations(events)
    events = filter_events(events, flt)
    split = split_sessions(events, durations)
    sessions = split.counted
    analytics = [ev for ev in events if ev.get("service") == "analytics"]
    repeats = repeated_arrivals(events)
    totals = _group_summary(sessions)
    totals["events"] = len(events)
    totals.update(_page_counts(analytics))
    totals["duplicates"] = len(repeats)
    totals["protocols"] = {p: sum(1 for s in sessions if s.protocol == p) for p in (KAVA, STATS)}
    totals["coveredStatsSessions"] = len(split.covered)
    return {
        "filter": flt.as_dict() if flt else EventFilter().as_dict(),
        "totals": totals,
        "entries": _grouped(sessions, lambda s: s.entry_id),
        "applications": _applications(sessions, analytics),
        "users": _grouped(sessions, lambda s: s.user_id or UNKNOWN_USER),
        "pageLoadsByPageType": _count_by(analytics, PAGE_LOAD, "pageType"),
        "buttonClicksByButtonName": _count_by(analytics, BUTTON_CLICKED, "buttonName"),
        "duplicateBeacons": list(dict.fromkeys(ev.get("beacon_id") for ev in repeats)),
    }
