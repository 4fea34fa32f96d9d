"""Which protocol each playback session spoke, and the VIEWs of KAVA sessions.

``playbacks(events)`` is pure (events as the store returns them) and feeds the
dashboard through ``GET /dev/playbacks``.  A session id's own events say what
it sent (``playback.event_protocol``): stats.collect events are the guide
protocol, analytics.trackEvent events with an id below 10000 are KAVA;
application events (PageLoad, ButtonClicked) say nothing about the protocol.
A session id that carries both is ``both``; so are a guide session and a KAVA
session that report one playback by the reports' own rule (``playback.covers``:
same entry and user, time spans within ``playback.BOTH_MODE_SLACK`` seconds;
kaltura_web's ``"protocol": "both"`` sends the two streams under two session
ids), each naming the other in ``paired_with``.  So the dashboard says "both"
exactly where the reports count the KAVA session and leave the guide one out.
"""

from __future__ import annotations

from ...core.catalog import KAVA_TYPE_BY_NAME
from ..filters import event_time
from ..playback import KAVA, STATS, covers, event_protocol, split_sessions
from ..values import finite

NAMES = {STATS: "guide", KAVA: "kava"}
VIEW = KAVA_TYPE_BY_NAME["VIEW"]


def _view(ev, start) -> dict:
    f = ev.get("fields") or {}
    t = event_time(ev)
    return {"seq": ev.get("seq"), "time": t, "offset": round(t - start, 3),
            "playTimeSum": finite(f.get("playTimeSum")), "position": finite(f.get("position")),
            "eventIndex": f.get("eventIndex"), "duplicate_of": ev.get("duplicate_of")}


def _first(evs, column):
    return next((e.get(column) for e in evs if e.get(column)), None)


def _session(sid, evs, paired) -> dict:
    times = [event_time(e) for e in evs]
    sent = sorted({NAMES[event_protocol(e)] for e in evs})
    return {
        "session_id": sid,
        "protocol": "both" if len(sent) == 2 or paired else sent[0],
        "sent": sent,
        "paired_with": paired,
        "entry_id": _first(evs, "entry_id"),
        "user_id": _first(evs, "user_id"),
        "app_id": _first(evs, "app_id"),
        "first_seq": evs[0].get("seq"),
        "last_seq": evs[-1].get("seq"),
        "start": min(times),
        "end": max(times),
        "events": len(evs),
        "views": [_view(e, min(times)) for e in evs
                  if event_protocol(e) == KAVA and e.get("event_type") == VIEW],
    }


def _pairs(events) -> dict:
    """{session id: [session ids of the other protocol reporting the same playback]}."""
    split = split_sessions(events)
    kava: dict[tuple, list] = {}
    for s in split.counted:
        if s.protocol == KAVA:
            kava.setdefault((s.entry_id, s.user_id or None), []).append(s)
    pairs: dict[str, list] = {}
    for s in split.counted + split.covered:
        if s.protocol != STATS:
            continue
        for k in kava.get((s.entry_id, s.user_id or None), ()):
            if k.session_id != s.session_id and covers(k, s):
                for one, other in ((s, k), (k, s)):
                    mates = pairs.setdefault(one.session_id, [])
                    if other.session_id not in mates:
                        mates.append(other.session_id)
    return pairs


def playbacks(events) -> list[dict]:
    """One dict per session id with playback events, in order of first arrival:
    session_id, protocol ("guide" | "kava" | "both"), sent (the protocols of the
    id's own events), paired_with, entry_id, user_id, app_id, first_seq,
    last_seq, start, end, events, and views (each KAVA VIEW: seq, time, offset
    from the session's start, playTimeSum, position, eventIndex, duplicate_of)."""
    events = sorted(events, key=lambda e: e.get("seq") or 0)
    by_session: dict[str, list] = {}
    for ev in events:
        if ev.get("session_id") and event_protocol(ev) is not None:
            by_session.setdefault(ev["session_id"], []).append(ev)
    pairs = _pairs(events)
    return [_session(sid, evs, pairs.get(sid, [])) for sid, evs in by_session.items()]
