"""A durable Store on SQLite: a kiosk process that dies loses nothing.

Each queued record is committed before the engine may send it; a record is
deleted only once the engine settles it.  Dead letters keep their reason.
``erase()`` (consent denied, ``Tracker.erase``) empties the whole file.

The file is checked when the store opens (it must be a sound SQLite database
that takes a write), so a corrupt, truncated, read-only or misplaced queue
file fails at once with ``QueueStoreError`` instead of at the first beacon.
"""

import json
import os
import sqlite3
import threading

from ..core.ports import Store

_SCHEMA = """
CREATE TABLE IF NOT EXISTS queue (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    beacon_id TEXT NOT NULL UNIQUE,
    record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS dead_letter (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    beacon_id TEXT NOT NULL,
    record TEXT NOT NULL,
    reason TEXT NOT NULL
);
"""


class QueueStoreError(OSError):
    """The queue file cannot be used; the message names the file and why."""

    def __init__(self, path, reason):
        OSError.__init__(self, "queue file %s: %s" % (path, reason))
        self.path = path
        self.reason = reason


def _reason(path, exc):
    """Why SQLite could not use ``path``, in words a user can act on."""
    if os.path.isdir(path):
        return "is a directory"
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.exists(folder):
        return "directory %s does not exist" % folder
    if not os.path.isdir(folder):
        return "%s is not a directory" % folder
    return str(exc)


def _foreign(db):
    """Why the database is not a queue file (it holds other tables), or None."""
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    others = sorted(tables - {"queue", "dead_letter", "sqlite_sequence"})
    if others:
        return "not a kaltura_web queue file (it holds table %s)" % others[0]
    if "queue" in tables:
        try:
            db.execute("SELECT seq, queue, beacon_id, record FROM queue LIMIT 0")
        except sqlite3.OperationalError as exc:
            return "not a kaltura_web queue file (%s)" % exc
    return None


def _prepare(db):
    """Check that the database reads cleanly and is ours (before writing
    anything), then set the journal up, create the tables and check that it
    takes a write; returns what is wrong, or None."""
    verdict = db.execute("PRAGMA quick_check").fetchone()[0]
    if verdict != "ok":
        return "corrupt database (%s)" % verdict
    problem = _foreign(db)
    if problem is not None:
        return problem
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.executescript(_SCHEMA)
    db.execute("BEGIN IMMEDIATE")
    try:  # a write that is rolled back: fails now if the file is read-only
        db.execute("INSERT INTO dead_letter(queue, beacon_id, record, reason) VALUES ('', '', '', '')")
    finally:
        db.execute("ROLLBACK")
    return None


def _open(path):
    """A connection to a usable queue database at ``path``, or QueueStoreError."""
    try:
        db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    except sqlite3.Error as exc:
        raise QueueStoreError(path, _reason(path, exc)) from None
    try:
        problem = _prepare(db)
    except sqlite3.Error as exc:
        problem = _reason(path, exc)
    if problem is not None:
        db.close()
        raise QueueStoreError(path, problem)
    return db


class SQLiteStore(Store):
    """The ``ports.Store`` contract on one SQLite file; raises
    ``QueueStoreError`` when ``path`` cannot hold the queue."""

    def __init__(self, path, namespace=""):
        self.path = str(path)
        self.namespace = namespace
        self._lock = threading.Lock()
        self._db = _open(self.path)

    def _q(self, queue):
        return self.namespace + ":" + queue if self.namespace else queue

    def load(self, queue):
        with self._lock:
            rows = self._db.execute("SELECT record FROM queue WHERE queue=? ORDER BY seq",
                                    (self._q(queue),)).fetchall()
        return [json.loads(r[0]) for r in rows]

    def append(self, queue, record):
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO queue(queue, beacon_id, record) VALUES (?,?,?)",
                             (self._q(queue), record["i"], json.dumps(record, separators=(",", ":"))))

    def remove(self, queue, beacon_id):
        with self._lock:
            self._db.execute("DELETE FROM queue WHERE queue=? AND beacon_id=?", (self._q(queue), beacon_id))

    def drop_oldest(self, queue, count):
        with self._lock:
            self._db.execute("DELETE FROM queue WHERE seq IN (SELECT seq FROM queue WHERE queue=? "
                             "ORDER BY seq LIMIT ?)", (self._q(queue), int(count)))

    def dead_letter(self, queue, record, reason):
        with self._lock:
            self._db.execute("INSERT INTO dead_letter(queue, beacon_id, record, reason) VALUES (?,?,?,?)",
                             (self._q(queue), record["i"], json.dumps(record), str(reason)))

    def dead_letters(self, queue):
        with self._lock:
            rows = self._db.execute("SELECT record, reason FROM dead_letter WHERE queue=? ORDER BY seq",
                                    (self._q(queue),)).fetchall()
        return [{"record": json.loads(r[0]), "reason": r[1]} for r in rows]

    def erase(self):
        """Delete every queued record and dead letter of the file (every
        namespace: the file is the SDK's own), overwriting the freed pages
        and emptying the write-ahead log, so the text is gone from the disk too."""
        with self._lock:
            self._db.execute("PRAGMA secure_delete=ON")
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("DELETE FROM queue")
                self._db.execute("DELETE FROM dead_letter")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self):
        with self._lock:
            self._db.close()
