"""The CPython edge: urllib transport, durable SQLite store, a synchronous
delivery driver, and ``create_tracker`` wiring them to the pure core."""

from .driver import SyncSender, create_tracker
from .store import SQLiteStore
from .transport import UrllibTransport

__all__ = ["SQLiteStore", "SyncSender", "UrllibTransport", "create_tracker"]
