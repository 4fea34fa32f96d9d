"""kaltura_web: report video playback and page engagement to Kaltura analytics.

``kaltura_web.core`` is the portable core (pure Python: CPython, Pyodide and
MicroPython).  The edges around it: ``kaltura_web.cpython`` (urllib, SQLite,
``SyncSender``), ``kaltura_web.browser`` (Pyodide / PyScript pages, the only
code that imports ``js``), ``kaltura_web.collector`` (the local
Kaltura-compatible server), ``kaltura_web.cli`` (the ``kaltura-web`` command)
and ``kaltura_web.pytest_plugin``.  See docs/architecture.md.
"""

from .core import (ACCEPTED, AUTH, BAD_BEACON, CONFIG, DEFAULT_ANALYTICS_URL, DEFAULT_SERVICE_URL,
                   PLAYER_EVENTS, STATS_EVENT_TYPES, TRANSIENT, DeliveryEngine, MemoryStore,
                   PlaybackSession, Player, Request, Tracker, classify, encode, mask_ks)

__version__ = "0.1.0"
__all__ = [
    "ACCEPTED", "AUTH", "BAD_BEACON", "CONFIG", "TRANSIENT", "DEFAULT_ANALYTICS_URL",
    "DEFAULT_SERVICE_URL", "DeliveryEngine", "MemoryStore", "PLAYER_EVENTS", "PlaybackSession",
    "Player", "Request", "STATS_EVENT_TYPES", "Tracker", "classify", "encode", "mask_ks",
]
