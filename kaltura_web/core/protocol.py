"""Protocols turn protocol-neutral player events into beacon records.

``StatsCollectProtocol`` is the guide's stats.collect model.  The state
machine knows nothing of it, so a KAVA (Player v7 trackEvent) protocol can be
added beside it by implementing the same ``records`` method.
"""

from .catalog import stats_type_for
from .encoding import stats_record


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
