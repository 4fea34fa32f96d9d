"""kaltura_web: report video playback and page engagement to Kaltura analytics.

The core (this package's top-level modules) is pure Python that runs on
CPython, Pyodide and MicroPython.  Edges: ``kaltura_web.cpython`` (urllib,
SQLite, the CLI), ``kaltura_web.browser`` (Pyodide / PyScript), and
``kaltura_web.collector`` (the local Kaltura-compatible server).
"""

from .catalog import PLAYER_EVENTS, STATS_EVENT_TYPES
from .delivery import DeliveryEngine, MemoryStore
from .encoding import ACCEPTED, AUTH, BAD_BEACON, CONFIG, TRANSIENT, Request, classify, encode
from .session import PlaybackSession
from .tracker import DEFAULT_ANALYTICS_URL, DEFAULT_SERVICE_URL, Player, Tracker, mask_ks

__version__ = "0.1.0"
__all__ = [
    "ACCEPTED", "AUTH", "BAD_BEACON", "CONFIG", "TRANSIENT", "DEFAULT_ANALYTICS_URL",
    "DEFAULT_SERVICE_URL", "DeliveryEngine", "MemoryStore", "PLAYER_EVENTS", "PlaybackSession",
    "Player", "Request", "STATS_EVENT_TYPES", "Tracker", "classify", "encode", "mask_ks",
]
