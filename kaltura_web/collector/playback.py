"""Playback sessions and Kaltura's metric columns, from stored stats.collect events.

Pure: no Flask, no SQLite.  Event types come from ``kaltura_web.core.catalog``.

* ``playback_sessions``: one ``StoredPlayback`` per (sessionId, entryId): plays,
  loads, quartiles reached, buffering, furthest playhead, completion.
* ``playback_metrics``: Kaltura's metric columns for a group of sessions.
* ``engagement_ranking``: Kaltura's 0..10 engagement score of a report row.

Every stored arrival counts, a repeated beacon included: Kaltura would count it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.catalog import STATS_TYPE_BY_NAME
from .filters import event_app, event_time
from .values import finite

UNKNOWN_USER = "Unknown"  # the user of events sent without a KS user

# quartile type -> percent reached
QUARTILE_TYPES = {STATS_TYPE_BY_NAME[f"PLAY_REACHED_{p}"]: p for p in (25, 50, 75, 100)}
# the event types a playback session counts, and the attribute counting each
COUNTED = {STATS_TYPE_BY_NAME[name]: attr for name, attr in (
    ("PLAY", "plays"), ("REPLAY", "replays"), ("MEDIA_LOADED", "loads"),
    ("WIDGET_LOADED", "widget_loads"), ("BUFFER_START", "buffer_starts"), ("OPEN_VIRAL", "shares"))}


@dataclass
class StoredPlayback:
    """What one playback session (sessionId + entryId, stats.collect only) did."""

    session_id: str
    entry_id: str
    user_id: str | None = None
    app: str | None = None
    first_time: float | None = None
    last_time: float | None = None
    events: int = 0
    plays: int = 0          # PLAY events
    replays: int = 0        # REPLAY events
    loads: int = 0          # MEDIA_LOADED events: Kaltura's "player impressions"
    widget_loads: int = 0   # WIDGET_LOADED
    buffer_starts: int = 0  # BUFFER_START
    shares: int = 0         # OPEN_VIRAL
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

    def add(self, ev) -> None:
        """Count one stats.collect event of this session."""
        self.events += 1
        if ev.get("user_id") and not self.user_id:
            self.user_id = ev["user_id"]
        if not self.app:
            self.app = event_app(ev)
        t = event_time(ev)
        self.first_time = t if self.first_time is None else min(self.first_time, t)
        self.last_time = t if self.last_time is None else max(self.last_time, t)
        kind = ev.get("event_type")
        if kind in COUNTED:
            setattr(self, COUNTED[kind], getattr(self, COUNTED[kind]) + 1)
        elif kind in QUARTILE_TYPES:
            self.quartiles.add(QUARTILE_TYPES[kind])
        fields = ev.get("fields") or {}
        duration = finite(fields.get("duration"))
        if duration and duration > 0:
            self.duration = duration
        point = finite(fields.get("currentPoint"))
        if point is not None and point > self.furthest:
            self.furthest = point


def playback_sessions(events) -> list[StoredPlayback]:
    """Group stats.collect events by (sessionId, entryId), in order of first arrival."""
    sessions: dict[tuple, StoredPlayback] = {}
    for ev in sorted(events, key=lambda e: e.get("seq") or 0):
        if ev.get("service", "stats") != "stats" or not ev.get("session_id"):
            continue
        key = (ev["session_id"], ev.get("entry_id") or "")
        if key not in sessions:
            sessions[key] = StoredPlayback(session_id=key[0], entry_id=key[1])
        sessions[key].add(ev)
    return list(sessions.values())


def _ratio(a, b):
    return a / b if b else 0.0


def playback_metrics(sessions) -> dict:
    """Kaltura's metric columns for a group of playback sessions."""
    sessions = list(sessions)
    plays = sum(s.plays for s in sessions)
    loads = sum(s.loads for s in sessions)
    reached = {q: sum(1 for s in sessions if q in s.quartiles) for q in (25, 50, 75, 100)}
    played_sessions = [s for s in sessions if s.played]
    viewed_minutes = sum(s.viewed_seconds for s in played_sessions) / 60.0
    completion_sum = sum(s.completion for s in played_sessions)
    users = {s.user_id for s in played_sessions if s.user_id}
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
