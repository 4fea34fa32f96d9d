"""A durable Store on SQLite: a kiosk process that dies loses nothing.

Each queued record is committed before the engine may send it; a record is
deleted only once the engine settles it.  Dead letters keep their reason.
"""

import json
import sqlite3
import threading

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


class SQLiteStore:
    def __init__(self, path, namespace=""):
        self.path = str(path)
        self.namespace = namespace
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

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

    def close(self):
        with self._lock:
            self._db.close()
