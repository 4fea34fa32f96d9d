"""Protocols turn protocol-neutral player events into beacon records.

A tracker speaks ``GUIDE`` (the guide's stats.collect, the default),
``KAVA`` (Player v7's analytics.trackEvent model, what today's Kaltura reports
count) or ``BOTH`` (each playback reported in both, for a migration).  Each
``Player`` gets one *reporter* per protocol (``reporters_for``); after every
observation the tracker hands each reporter the events it caused.  The state
machine knows nothing of them.
"""

from .catalog import stats_type_for
from .encoding import stats_record
from .kava import KavaReporter

GUIDE = "guide"
KAVA = "kava"
BOTH = "both"
PROTOCOLS = (GUIDE, KAVA, BOTH)


class StatsCollectProtocol:
    name = "stats.collect"

    def records(self, event, entry_id, partner_id, context, new_id):
        """Records for one player event (empty for hook-only events)."""
        event_type = stats_type_for(event.name)
        if event_type is None:
            return []
        seek = True if event.name == "SEEK" else None
        return [stats_record(new_id(), event_type, partner_id, entry_id, event.session_id,
                             event.t, context, event.position, event.duration, seek)]


class GuideReporter:
    """stats.collect records for one ``Player``: one per event that has a type."""

    timed = False  # only observations that caused events matter
    protocol = StatsCollectProtocol()

    def __init__(self, tracker, player):
        self.tracker = tracker
        self.player = player

    def records(self, events, session, t):
        tracker = self.tracker
        out = []
        for event in events:
            out.extend(self.protocol.records(event, self.player.entry_id, tracker.partner_id,
                                             tracker.context, tracker.new_id))
        return out


def reporters_for(protocol, tracker, player):
    """The reporters a new ``player`` gets under ``protocol``."""
    out = []
    if protocol != KAVA:
        out.append(GuideReporter(tracker, player))
    if protocol != GUIDE:
        out.append(KavaReporter(tracker, player, tracker.kava_session_id(player)))
    return out
