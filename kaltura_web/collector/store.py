"""SQLite store of accepted events (stdlib sqlite3, WAL, synchronous=FULL).

One connection guarded by a lock: every insert is committed before the HTTP
answer is sent, so an acknowledged event survives a crash or restart.

Every arrival is stored, like Kaltura, which de-duplicates nothing: a beacon
that arrives again (same service and beacon id) is a new row whose
``duplicate_of`` is the seq of its first arrival.  A database written before
that column existed (with ``UNIQUE(service, beacon_id)``) is rebuilt in place
when opened, keeping its rows and its seq counter.

``version`` grows with every stored event, reset and close; ``wait_for_change``
lets a reader (the dashboard's event stream) sleep until it moves.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time

TABLE = """
CREATE TABLE IF NOT EXISTS {name} (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at     REAL    NOT NULL,
    service         TEXT    NOT NULL,           -- 'stats' | 'analytics'
    partner_id      INTEGER,
    entry_id        TEXT,
    event_type      INTEGER,
    session_id      TEXT,
    event_timestamp REAL,
    user_id         TEXT,                       -- event userId, else KS _u (NULL: neither)
    app_id          TEXT,                       -- event application, else KS appId privilege
    ks_type         INTEGER,                    -- KS _t (NULL: no KS)
    ks_masked       TEXT,                       -- mask_ks(ks), never the full KS
    beacon_id       TEXT,
    fields          TEXT    NOT NULL,           -- JSON object of all event fields
    duplicate_of    INTEGER                     -- seq of the beacon's first arrival, NULL if first
)"""
INDEXES = """
CREATE INDEX IF NOT EXISTS events_session ON events (session_id, seq);
CREATE INDEX IF NOT EXISTS events_entry ON events (entry_id, received_at);
CREATE INDEX IF NOT EXISTS events_user ON events (user_id, received_at);
CREATE INDEX IF NOT EXISTS events_app ON events (app_id, received_at);
CREATE INDEX IF NOT EXISTS events_time ON events (received_at);
CREATE INDEX IF NOT EXISTS events_beacon ON events (service, beacon_id, seq);
"""

COLUMNS = ("seq", "received_at", "service", "partner_id", "entry_id", "event_type",
           "session_id", "event_timestamp", "user_id", "app_id", "ks_type", "ks_masked",
           "beacon_id", "fields", "duplicate_of")
OLD_COLUMNS = COLUMNS[:-1]  # the table before duplicate_of (UNIQUE(service, beacon_id))

FILTERS = ("session_id", "event_type", "service", "entry_id", "user_id", "app_id", "partner_id")


class StoreError(Exception):
    """The database file cannot be opened or read (a missing folder, not SQLite, locked)."""


class Store:
    def __init__(self, path: str = ":memory:"):
        self.path = str(path)
        self._lock = threading.RLock()
        self._changed = threading.Condition()
        self.version = 0        # bumped by each insert, each reset, close
        self.resets = 0         # number of reset() calls
        with self._lock:
            self._open()

    def _open(self) -> None:
        self._conn = None
        try:
            self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._conn.row_factory = sqlite3.Row
            if self.path != ":memory:":
                self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._prepare()
        except sqlite3.Error as err:
            if self._conn is not None:
                self._conn.close()
            raise StoreError(f"cannot open the event database {self.path}: {err}") from None

    def _prepare(self) -> None:
        """Create the table and indexes, rebuilding a table of the older layout first."""
        columns = [row["name"] for row in self._conn.execute("PRAGMA table_info(events)")]
        if columns and "duplicate_of" not in columns:
            self._rebuild_without_unique()
        self._conn.execute(TABLE.format(name="events"))
        self._conn.executescript(INDEXES)

    def _rebuild_without_unique(self) -> None:
        """Copy the rows of an events table with UNIQUE(service, beacon_id) into one
        without it (and with ``duplicate_of``), keeping seq values and the seq counter."""
        names = ", ".join(OLD_COLUMNS)
        with self.transaction():
            counter = self._conn.execute(
                "SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
            self._conn.execute(TABLE.format(name="events_rebuilt"))
            self._conn.execute(f"INSERT INTO events_rebuilt ({names}) SELECT {names} FROM events")
            self._conn.execute("DROP TABLE events")
            self._conn.execute("ALTER TABLE events_rebuilt RENAME TO events")
            if counter is not None:
                self._conn.execute("UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = 'events'",
                                   (counter["seq"],))

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
        """Store one arrival.  Returns (seq, duplicate_of): ``duplicate_of`` is
        the seq of the first arrival of the same beacon id for this service,
        None when this is the first (or the event has no beacon id)."""
        if received_at is None:
            received_at = time.time()
        beacon_id = beacon_id or None
        with self._lock:
            first = None
            if beacon_id is not None:
                first = self._conn.execute(
                    "SELECT MIN(seq) FROM events WHERE service = ? AND beacon_id = ?",
                    (service, beacon_id)).fetchone()[0]
            cur = self._conn.execute(
                "INSERT INTO events (received_at, service, partner_id, entry_id, event_type,"
                " session_id, event_timestamp, user_id, app_id, ks_type, ks_masked, beacon_id,"
                " fields, duplicate_of) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (received_at, service, partner_id, entry_id, event_type, session_id,
                 event_timestamp, user_id, app_id, ks_type, ks_masked, beacon_id,
                 json.dumps(fields, sort_keys=True, default=str), first))
            seq = cur.lastrowid
        self._bump()
        return seq, first

    def events(self, duplicates=True, **filters) -> list[dict]:
        """Events in arrival order; ``duplicates=False`` leaves out the repeated
        arrivals of a beacon (each beacon once, at its first arrival).
        Filters: session_id, event_type, service, entry_id, user_id, app_id,
        partner_id, since_seq."""
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
        if not duplicates:
            where.append("duplicate_of IS NULL")
        sql = "SELECT * FROM events"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY seq"
        with self._lock:
            rows = self._conn.execute(sql, args).fetchall()
        return [self._row(r) for r in rows]

    def _first_column(self, sql) -> list:
        with self._lock:
            return [row[0] for row in self._conn.execute(sql).fetchall()]

    def duplicates(self) -> list[str]:
        """Beacon ids stored more than once (for one service), in order of their first arrival."""
        return self._first_column("SELECT beacon_id, MIN(duplicate_of) AS first FROM events"
                                  " WHERE duplicate_of IS NOT NULL GROUP BY beacon_id ORDER BY first")

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
        return self._first_column("SELECT session_id, MIN(seq) AS first FROM events"
                                  " WHERE session_id IS NOT NULL GROUP BY session_id ORDER BY first")

    def count(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]

    def latest_seq(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]

    def erase_user(self, user_id: str) -> int:
        """Delete every stored event of ``user_id`` (the ``user_id`` column:
        the event's userId, else its KS user); returns how many.  The freed
        pages are overwritten (secure_delete), so the text leaves the file."""
        with self._lock:
            self._conn.execute("PRAGMA secure_delete=ON")
            deleted = self._conn.execute("DELETE FROM events WHERE user_id = ?", (str(user_id),)).rowcount
        self._bump()
        return deleted

    def reset(self) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM events")
            self.resets += 1
        self._bump()
