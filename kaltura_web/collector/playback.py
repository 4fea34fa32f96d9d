"""Playback sessions and Kaltura's metric columns, from stored events of both protocols.

Pure: no Flask, no SQLite.  Event ids come from ``kaltura_web.core.catalog``.

Two protocols report playback to the collector:

* **KAVA**: Player v7's ``analytics.trackEvent`` playback events (stored with
  service ``analytics`` and an eventType below 10000): PLAY 3, quartiles 11-14,
  VIEW 99 with the cumulative ``playTimeSum``...  This is what today's Kaltura
  computes its reports from.
* **stats.collect** (the guide's protocol, service ``stats``): PLAY 3,
  quartiles 4-7, ``currentPoint`` and ``duration`` on every event.

* ``split_sessions``: one ``StoredPlayback`` per (protocol, sessionId, entryId),
  and which stats.collect sessions are left out because a KAVA session already
  reports the same playback ("both" mode, ``covers``).
* ``playback_sessions``: the sessions a report counts.
* ``entry_durations``: the collector's stand-in for Kaltura's entry catalog.
* ``playback_metrics``: Kaltura's metric columns for a group of sessions.
* ``engagement_ranking``: Kaltura's 0..10 engagement score of a report row.

Every stored arrival counts, a repeated beacon included: Kaltura would count it
(a repeated VIEW adds no play time: ``playTimeSum`` is cumulative).
docs/reports.md gives each formula per protocol.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..core.catalog import KAVA_TYPE_BY_NAME, STATS_TYPE_BY_NAME
from .filters import event_app, event_time
from .values import finite

UNKNOWN_USER = "Unknown"  # the user of events sent without a userId or KS user
KAVA, STATS = "kava", "stats"
APPLICATION_EVENT_MIN = 10000  # trackEvent ids from here on are application events, not KAVA playback
# "both" mode: a stats.collect session within this many seconds of a KAVA session of the
# same entry and user is the same playback (KAVA's own idle reset is 30 s)
BOTH_MODE_SLACK = 30.0
VIEW = KAVA_TYPE_BY_NAME["VIEW"]
LIVE_TYPES = ("live", "dvr")  # KAVA playbackType values that have no percentiles

# per protocol: quartile event id -> percent reached, and the counted event ids -> attribute
QUARTILE_TYPES = {
    STATS: {STATS_TYPE_BY_NAME[f"PLAY_REACHED_{p}"]: p for p in (25, 50, 75, 100)},
    KAVA: {KAVA_TYPE_BY_NAME[f"PLAY_REACHED_{p}"]: p for p in (25, 50, 75, 100)},
}
COUNTED = {
    STATS: {STATS_TYPE_BY_NAME[name]: attr for name, attr in (
        ("PLAY", "plays"), ("REPLAY", "replays"), ("MEDIA_LOADED", "loads"),
        ("WIDGET_LOADED", "widget_loads"), ("BUFFER_START", "buffer_starts"), ("OPEN_VIRAL", "shares"))},
    KAVA: {KAVA_TYPE_BY_NAME[name]: attr for name, attr in (
        ("PLAY", "plays"), ("REPLAY", "replays"), ("IMPRESSION", "loads"),
        ("BUFFER_START", "buffer_starts"), ("SHARE_CLICKED", "shares"))},
}
POSITION_FIELD = {STATS: "currentPoint", KAVA: "position"}


def event_protocol(ev):
    """KAVA for a KAVA playback event, STATS for a stats.collect event, None
    for anything else (application events 10002/10003...)."""
    service = ev.get("service", "stats")
    if service == "stats":
        return STATS
    kind = ev.get("event_type")
    if service == "analytics" and isinstance(kind, int) and not isinstance(kind, bool) \
            and kind < APPLICATION_EVENT_MIN:
        return KAVA
    return None


def _positive(value):
    number = finite(value)
    return number if number is not None and number > 0 else None


def entry_durations(events) -> dict:
    """{entryId: content duration in seconds}: the latest positive ``duration``
    field any event of the entry carried (stats.collect, or a KAVA event that
    has one).  Kaltura reads durations from its entry catalog; this is the
    collector's stand-in for it."""
    out: dict[str, float] = {}
    for ev in sorted(events, key=lambda e: e.get("seq") or 0):
        duration = _positive((ev.get("fields") or {}).get("duration"))
        if duration is not None and ev.get("entry_id"):
            out[ev["entry_id"]] = duration
    return out


def percentile_range(start, end, duration) -> range:
    """The percentiles (0..99) of a ``duration`` that the span [start, end]
    (seconds) overlaps by more than a point."""
    if not duration or not math.isfinite(duration) or not (end > start):
        return range(0)
    first = min(max(max(start, 0.0) / duration * 100.0, 0.0), 100.0)
    last = min(max(min(end, duration) / duration * 100.0, 0.0), 100.0)
    return range(math.floor(round(first, 9)), math.ceil(round(last, 9)))


@dataclass
class StoredPlayback:
    """What one playback session (protocol + sessionId + entryId) did."""

    session_id: str
    entry_id: str
    protocol: str = STATS
    user_id: str | None = None
    app: str | None = None
    first_time: float | None = None
    last_time: float | None = None
    events: int = 0
    plays: int = 0          # PLAY events
    replays: int = 0        # REPLAY events
    loads: int = 0          # KAVA IMPRESSION / stats MEDIA_LOADED: Kaltura's "player impressions"
    widget_loads: int = 0   # stats WIDGET_LOADED
    buffer_starts: int = 0  # BUFFER_START
    shares: int = 0         # KAVA SHARE_CLICKED / stats OPEN_VIRAL
    quartile_events: dict = field(default_factory=lambda: {25: 0, 50: 0, 75: 0, 100: 0})
    own_duration: float | None = None  # the latest ``duration`` field of the session's events
    duration: float | None = None      # the duration the metrics use (``resolve``)
    furthest: float = 0.0              # furthest playhead position reported (seconds)
    live: bool = False                 # KAVA playbackType live/dvr
    quartile_positions: list = field(default_factory=list)  # KAVA: (percent, position)
    views: list = field(default_factory=list)  # KAVA VIEW: (time, seq, playTimeSum, position, speed)
    view_seconds: float = 0.0          # ``resolve``: play time (KAVA VIEW) or furthest point (stats)
    percentiles: frozenset = frozenset()  # ``resolve``: the percentiles 0..99 of the content watched

    @property
    def played(self) -> bool:
        return self.plays > 0 or self.replays > 0

    @property
    def quartiles(self) -> set:
        """The quartiles (25, 50, 75, 100) reached at least once."""
        return {q for q, n in self.quartile_events.items() if n}

    @property
    def quartile_seconds(self) -> float:
        """Kaltura's quartile play time: a quarter of the duration per quartile event."""
        if not self.duration:
            return 0.0
        return sum(self.quartile_events.values()) * self.duration / 4.0

    @property
    def viewed_seconds(self) -> float:
        """stats.collect's stand-in for play time: the furthest point the
        playhead reached, from currentPoint values and from the highest
        quartile reached (quartile x duration), capped at the duration."""
        best = self.furthest
        if self.duration and self.quartiles:
            best = max(best, max(self.quartiles) / 100.0 * self.duration)
        if self.duration:
            best = min(best, self.duration)
        return max(best, 0.0)

    def add(self, ev) -> None:
        """Count one event of this session (of its protocol)."""
        self.events += 1
        if ev.get("user_id") and not self.user_id:
            self.user_id = ev["user_id"]
        if not self.app:
            self.app = event_app(ev)
        t = event_time(ev)
        self.first_time = t if self.first_time is None else min(self.first_time, t)
        self.last_time = t if self.last_time is None else max(self.last_time, t)
        kind = ev.get("event_type")
        fields = ev.get("fields") or {}
        position = finite(fields.get(POSITION_FIELD[self.protocol]))
        if kind in COUNTED[self.protocol]:
            attr = COUNTED[self.protocol][kind]
            setattr(self, attr, getattr(self, attr) + 1)
        elif kind in QUARTILE_TYPES[self.protocol]:
            percent = QUARTILE_TYPES[self.protocol][kind]
            self.quartile_events[percent] += 1
            if position is not None:
                self.quartile_positions.append((percent, position))
        duration = _positive(fields.get("duration"))
        if duration is not None:
            self.own_duration = duration
        if position is not None and position > self.furthest:
            self.furthest = position
        if self.protocol == KAVA:
            if str(fields.get("playbackType") or "").lower() in LIVE_TYPES:
                self.live = True
            if kind == VIEW:
                speed = _positive(fields.get("playbackSpeed")) or 1.0
                self.views.append((t, ev.get("seq") or 0, finite(fields.get("playTimeSum")),
                                   position, speed))

    def resolve(self, durations=None) -> None:
        """Settle the duration (the session's own, else the entry's from
        ``durations``, else for KAVA an estimate from the quartile events'
        positions), then the play time and the percentiles watched."""
        self.duration = self.own_duration or (durations or {}).get(self.entry_id)
        if self.duration is None and self.protocol == KAVA and self.quartile_positions:
            estimate = max(min(pos * 100.0 / q for q, pos in self.quartile_positions), self.furthest)
            self.duration = estimate if 0 < estimate < math.inf else None
        if self.protocol == KAVA:
            self.view_seconds, spans = self._view_periods()
        else:
            self.view_seconds = self.viewed_seconds if self.played else 0.0
            spans = [(0.0, self.viewed_seconds)] if self.played else []
            if self.played and not self.duration and self.quartiles:
                # no duration: the quartiles reached stand for the percentiles
                self.percentiles = frozenset(range(max(self.quartiles)))
                return
        watched: set = set()
        if not self.live:
            for start, end in spans:
                watched.update(percentile_range(start, end, self.duration))
        self.percentiles = frozenset(watched)

    def _view_periods(self):
        """(seconds played, [(start, end) spans of content]) from the VIEW events:
        each VIEW adds what its cumulative playTimeSum grew by since the
        previous VIEW (all of it after a reset to a lower value), and the
        content just before its position, that many seconds times the speed."""
        total, spans, previous = 0.0, [], None
        for _t, _seq, play_time, position, speed in sorted(self.views, key=lambda v: (v[0], v[1])):
            if play_time is None or play_time < 0:
                continue
            delta = play_time if previous is None or play_time < previous else play_time - previous
            previous = play_time
            if delta <= 0:
                continue
            total += delta
            if position is not None:
                spans.append((position - delta * speed, position))
        return total, spans


def covers(kava: StoredPlayback, stats: StoredPlayback) -> bool:
    """True when a KAVA session reports the same playback as a stats.collect
    session: same entry, same user, and time spans that overlap once each is
    widened by ``BOTH_MODE_SLACK`` seconds."""
    if kava.entry_id != stats.entry_id or (kava.user_id or None) != (stats.user_id or None):
        return False
    if None in (kava.first_time, kava.last_time, stats.first_time, stats.last_time):
        return False
    return (kava.first_time - BOTH_MODE_SLACK <= stats.last_time
            and stats.first_time <= kava.last_time + BOTH_MODE_SLACK)


@dataclass
class SessionSplit:
    counted: list     # the sessions reports count, in order of first arrival
    covered: list     # stats.collect sessions left out: a KAVA session reports the same playback


def split_sessions(events, durations=None) -> SessionSplit:
    """Group playback events by (protocol, sessionId, entryId), settle each
    session (``StoredPlayback.resolve``, durations from ``durations`` or from
    the events themselves), and leave out the stats.collect sessions a KAVA
    session covers."""
    events = sorted(events, key=lambda e: e.get("seq") or 0)
    if durations is None:
        durations = entry_durations(events)
    sessions: dict[tuple, StoredPlayback] = {}
    for ev in events:
        protocol = event_protocol(ev)
        if protocol is None or not ev.get("session_id"):
            continue
        key = (protocol, ev["session_id"], ev.get("entry_id") or "")
        if key not in sessions:
            sessions[key] = StoredPlayback(session_id=key[1], entry_id=key[2], protocol=protocol)
        sessions[key].add(ev)
    kava_by_key: dict[tuple, list] = {}
    for s in sessions.values():
        s.resolve(durations)
        if s.protocol == KAVA:
            kava_by_key.setdefault((s.entry_id, s.user_id or None), []).append(s)
    counted, covered = [], []
    for s in sessions.values():
        if s.protocol == STATS and any(covers(k, s) for k in
                                       kava_by_key.get((s.entry_id, s.user_id or None), ())):
            covered.append(s)
        else:
            counted.append(s)
    return SessionSplit(counted=counted, covered=covered)


def playback_sessions(events, durations=None) -> list[StoredPlayback]:
    """The playback sessions reports count (``split_sessions``), in order of first arrival."""
    return split_sessions(events, durations).counted


def _ratio(a, b):
    return a / b if b else 0.0


def playback_metrics(sessions) -> dict:
    """Kaltura's metric columns for a group of playback sessions (docs/reports.md)."""
    sessions = list(sessions)
    plays = sum(s.plays for s in sessions)
    loads = sum(s.loads for s in sessions)
    reached = {q: sum(s.quartile_events[q] for s in sessions) for q in (25, 50, 75, 100)}
    played_sessions = [s for s in sessions if s.played]
    time_viewed = sum(s.quartile_seconds for s in sessions) / 60.0
    view_period = sum(s.view_seconds for s in sessions) / 60.0
    unique_percentiles = sum(len(s.percentiles) for s in sessions)
    all_percentiles = set()
    for s in sessions:
        all_percentiles.update(s.percentiles)
    return {
        "count_plays": plays,
        "count_loads": loads,
        "count_plays_25": reached[25],
        "count_plays_50": reached[50],
        "count_plays_75": reached[75],
        "count_plays_100": reached[100],
        "play_through_ratio": _ratio(reached[100], plays),
        "sum_time_viewed": time_viewed,
        "avg_time_viewed": _ratio(time_viewed, plays),
        "sum_view_period": view_period,
        "avg_view_period_time": _ratio(view_period, plays),
        "load_play_ratio": _ratio(plays, loads),
        "avg_view_drop_off": _ratio(sum(reached.values()) / 4.0, plays),
        "unique_known_users": len({s.user_id for s in sessions if s.user_id}),
        "unique_viewers": len({s.user_id for s in sessions if s.user_id and s.plays}),
        "avg_unique_percentiles": _ratio(unique_percentiles, plays),  # uncapped, for the ranking
        "avg_completion_rate": min(_ratio(unique_percentiles, plays), 100.0),
        "total_completion_rate": min(len(all_percentiles), 100),
        "unique_videos": len({s.entry_id for s in sessions}),
        "count_viral": sum(s.shares for s in sessions),
        "unique_sessions": len(played_sessions),
        "buffer_events": sum(s.buffer_starts for s in sessions),
    }


def engagement_ranking(row: dict, max_plays: int, max_users: int) -> float:
    """Kaltura's engagement score (0..10): 5 x plays / most plays of any row,
    + 2.5 x unique known users / most users of any row, + the average unique
    percentiles per play x 0.025 (at most 2.5)."""
    score = 5.0 * _ratio(row["count_plays"], max_plays)
    score += 2.5 * _ratio(row["unique_known_users"], max_users)
    score += min(row["avg_unique_percentiles"] * 0.025, 2.5)
    return score
