"""SQLite store of accepted events (stdlib sqlite3, WAL, synchronous=FULL).

One connection guarded by a lock: every insert is committed before the HTTP
answer is sent, so an acknowledged event survives a crash or restart.

``version`` grows with every stored event, reset and close; ``wait_for_change``
lets a reader (the dashboard's event stream) sleep until it moves.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at     REAL    NOT NULL,
    service         TEXT    NOT NULL,           -- 'stats' | 'analytics'
    partner_id      INTEGER,
    entry_id        TEXT,
    event_type      INTEGER,
    session_id      TEXT,
    event_timestamp REAL,
    user_id         TEXT,                       -- KS _u (NULL: no KS)
    app_id          TEXT,                       -- KS appId privilege
    ks_type         INTEGER,                    -- KS _t (NULL: no KS)
    ks_masked       TEXT,                       -- mask_ks(ks), never the full KS
    beacon_id       TEXT,
    fields          TEXT    NOT NULL,           -- JSON object of all event fields
    UNIQUE (service, beacon_id)
);
CREATE INDEX IF NOT EXISTS events_session ON events (session_id, seq);
CREATE INDEX IF NOT EXISTS events_entry ON events (entry_id, received_at);
CREATE INDEX IF NOT EXISTS events_user ON events (user_id, received_at);
CREATE INDEX IF NOT EXISTS events_app ON events (app_id, received_at);
CREATE INDEX IF NOT EXISTS events_time ON events (received_at);
"""

COLUMNS = ("seq", "received_at", "service", "partner_id", "entry_id", "event_type",
           "session_id", "event_timestamp", "user_id", "app_id", "ks_type", "ks_masked",
           "beacon_id", "fields")

FILTERS = ("session_id", "event_type", "service", "entry_id", "user_id", "app_id", "partner_id")


class Store:
    def __init__(self, path: str = ":memory:"):
        self.path = str(path)
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._changed = threading.Condition()
        self.version = 0        # bumped by each insert that stores a row, each reset, close
        self.resets = 0         # number of reset() calls
        with self._lock:
            if self.path != ":memory:":
                self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.executescript(SCHEMA)

    @contextlib.contextmanager
    def _unit(self, begin, undo, done):
        with self._lock:
            self._conn.execute(begin)
            try:
                yield self
            except BaseException:
                for statement in undo:
                    self._conn.execute(statement)
                raise
            self._conn.execute(done)

    def transaction(self):
        """Group several inserts into one commit (a multirequest batch): the
        batch is on disk, with one sync, before it is acknowledged."""
        return self._unit("BEGIN IMMEDIATE", ("ROLLBACK",), "COMMIT")

    def savepoint(self):
        """One unit inside a transaction (a multirequest call): an exception
        undoes the unit's writes only, and is raised on."""
        return self._unit("SAVEPOINT unit", ("ROLLBACK TO unit", "RELEASE unit"), "RELEASE unit")

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
        self._bump()

    @property
    def closed(self) -> bool:
        return self._conn is None

    def _bump(self) -> None:
        with self._changed:
            self.version += 1
            self._changed.notify_all()

    def wait_for_change(self, seen_version: int, timeout: float) -> int:
        """Block until ``version`` differs from ``seen_version`` (or ``timeout``
        seconds pass, or ``wake_all`` is called); returns the current version."""
        with self._changed:
            if self.version == seen_version:
                self._changed.wait(timeout)
            return self.version

    def wake_all(self) -> None:
        """Wake every ``wait_for_change`` caller now (used at shutdown)."""
        with self._changed:
            self._changed.notify_all()

    def insert(self, *, service, fields, partner_id=None, entry_id=None, event_type=None,
               session_id=None, event_timestamp=None, user_id=None, app_id=None,
               ks_type=None, ks_masked=None, beacon_id=None, received_at=None):
        """Store one event.  Returns (seq, duplicate): duplicate=True when the
        beacon id was already stored for this service (nothing is written)."""
        if received_at is None:
            received_at = time.time()
        row = (received_at, service, partner_id, entry_id, event_type, session_id,
               event_timestamp, user_id, app_id, ks_type, ks_masked,
               beacon_id or None, json.dumps(fields, sort_keys=True, default=str))
        with self._lock:
            cur = self._conn.execute(
                "INSERT OR IGNORE INTO events (received_at, service, partner_id, entry_id,"
                " event_type, session_id, event_timestamp, user_id, app_id, ks_type,"
                " ks_masked, beacon_id, fields) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", row)
            stored = cur.rowcount == 1
            if stored:
                seq = cur.lastrowid
            else:
                found = self._conn.execute(
                    "SELECT seq FROM events WHERE service=? AND beacon_id=?",
                    (service, beacon_id)).fetchone()
                seq = found["seq"] if found else None
        if stored:
            self._bump()
        return seq, not stored

    def events(self, **filters) -> list[dict]:
        """Events in arrival order; filters: session_id, event_type, service,
        entry_id, user_id, app_id, partner_id, since_seq."""
        where, args = [], []
        for name in FILTERS:
            value = filters.get(name)
            if value is None or value == "":
                continue
            where.append(f"{name} = ?")
            args.append(int(value) if name in ("event_type", "partner_id") else str(value))
        if filters.get("since_seq") is not None:
            where.append("seq > ?")
            args.append(int(filters["since_seq"]))
        sql = "SELECT * FROM events"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY seq"
        with self._lock:
            rows = self._conn.execute(sql, args).fetchall()
        return [self._row(r) for r in rows]

    @staticmethod
    def _row(row) -> dict:
        out = {k: row[k] for k in COLUMNS}
        try:
            fields = json.loads(out["fields"])
        except (TypeError, ValueError, RecursionError):  # written by something else than insert()
            fields = None
        out["fields"] = fields if isinstance(fields, dict) else {}
        return out

    def sessions(self) -> list[str]:
        """Distinct session ids, in order of their first event."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT session_id, MIN(seq) AS first FROM events WHERE session_id IS NOT NULL"
                " GROUP BY session_id ORDER BY first").fetchall()
        return [r["session_id"] for r in rows]

    def count(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]

    def latest_seq(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]

    def reset(self) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM events")
            self.resets += 1
        self._bump()
