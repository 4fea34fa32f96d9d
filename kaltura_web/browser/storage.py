"""A Store on ``window.localStorage`` (the DeliveryEngine's persistence).

Keys are namespaced by partner id and, when configured, user id:
``kaltura_web:<partner>:<user or ->:q:<queue>`` holds the queue as a JSON list
of the core's compact records (which never contain the KS), and
``...:dead:<queue>`` the last dead letters.  A backlog is therefore only ever
sent by a page configured for the same partner and user.

Any method may raise when storage is disabled or full; the DeliveryEngine
catches that, keeps the queue in memory and reports a diagnostic.  Nothing
here raises at construction time.
"""

import json

from . import _ffi

PREFIX = "kaltura_web"
MAX_DEAD_LETTERS = 50


def _quote_part(text):
    return str(text).replace("%", "%25").replace(":", "%3A")


class StorageUnavailable(Exception):
    pass


class LocalStorageStore:
    """Store interface: load/append/remove/drop_oldest/dead_letter/dead_letters.

    ``storage`` is any object with getItem/setItem/removeItem (default: the
    page's localStorage, looked up lazily so a disabled storage only fails
    the first call, inside the engine's guard)."""

    def __init__(self, partner_id, user_id=None, storage=None, prefix=PREFIX):
        self.namespace = "%s:%s:%s" % (prefix, _quote_part(partner_id),
                                       _quote_part(user_id) if user_id else "-")
        self._storage = storage
        self._cache = {}

    def _backend(self):
        if self._storage is None:
            if not _ffi.IN_BROWSER:
                raise StorageUnavailable("no localStorage outside a browser")
            storage = _ffi.js.window.localStorage  # may raise SecurityError
            if _ffi.is_nullish(storage):
                raise StorageUnavailable("localStorage is not available")
            self._storage = storage
        return self._storage

    def key(self, kind, queue):
        return "%s:%s:%s" % (self.namespace, kind, queue)

    def _read(self, key):
        raw = self._backend().getItem(key)
        if _ffi.is_nullish(raw) or not raw:
            return []
        try:
            data = json.loads(raw)
        except ValueError:
            return []
        return data if isinstance(data, list) else []

    def _write(self, key, items):
        if items:
            self._backend().setItem(key, json.dumps(items, separators=(",", ":")))
        else:
            self._backend().removeItem(key)

    def _items(self, queue):
        key = self.key("q", queue)
        items = self._cache.get(key)
        if items is None:
            items = [r for r in self._read(key) if isinstance(r, dict) and "i" in r]
            self._cache[key] = items
        return key, items

    # -- Store interface ---------------------------------------------------
    def load(self, queue):
        self._cache.pop(self.key("q", queue), None)
        key, items = self._items(queue)
        return list(items)

    def append(self, queue, record):
        key, items = self._items(queue)
        self._write(key, items + [record])
        items.append(record)

    def remove(self, queue, beacon_id):
        key, items = self._items(queue)
        kept = [r for r in items if r.get("i") != beacon_id]
        if len(kept) != len(items):
            self._write(key, kept)
            self._cache[key] = kept

    def drop_oldest(self, queue, count):
        key, items = self._items(queue)
        kept = items[count:]
        self._write(key, kept)
        self._cache[key] = kept

    def dead_letter(self, queue, record, reason):
        key = self.key("dead", queue)
        dead = self._read(key)
        dead.append({"record": record, "reason": reason})
        self._write(key, dead[-MAX_DEAD_LETTERS:])

    def dead_letters(self, queue):
        return self._read(self.key("dead", queue))

    def clear(self):
        """Forget this namespace's queues and dead letters."""
        from ..encoding import QUEUES

        for queue in QUEUES:
            self._write(self.key("q", queue), [])
            self._write(self.key("dead", queue), [])
        self._cache = {}
