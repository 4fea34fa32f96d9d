"""The portable core of kaltura_web: pure Python, no I/O, no clock or randomness
of its own (both are passed in).  It runs unchanged on CPython, Pyodide and
MicroPython 1.28, and imports nothing but its own modules and the few standard
modules MicroPython has (tests/test_layering.py enforces it).

    catalog     event types and field names (stats.collect, trackEvent)
    validation  argument checks shared by the public API
    session     the playback-session state machine (observations -> player events)
    protocol    player events -> beacon records
    encoding    records -> HTTP requests; answers -> outcomes
    delivery    the queue engine (ordering, retries, pauses, dead letters)
    tracker     the public API tying them together
    _compat     the only MicroPython shim
"""

from .catalog import PLAYER_EVENTS, STATS_EVENT_TYPES
from .delivery import DeliveryEngine, MemoryStore
from .encoding import ACCEPTED, AUTH, BAD_BEACON, CONFIG, TRANSIENT, Request, classify, encode
from .session import PlaybackSession
from .tracker import DEFAULT_ANALYTICS_URL, DEFAULT_SERVICE_URL, Player, Tracker, mask_ks

__all__ = [
    "ACCEPTED", "AUTH", "BAD_BEACON", "CONFIG", "TRANSIENT", "DEFAULT_ANALYTICS_URL",
    "DEFAULT_SERVICE_URL", "DeliveryEngine", "MemoryStore", "PLAYER_EVENTS", "PlaybackSession",
    "Player", "Request", "STATS_EVENT_TYPES", "Tracker", "classify", "encode", "mask_ks",
]
