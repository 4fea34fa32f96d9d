"""A Store on ``window.localStorage`` (the DeliveryEngine's persistence).

Layout (``<ns>`` is ``kaltura_web:<partner>:<user or ->``, see docs/storage.md):

``<ns>:q:<queue>:<seq>.<tab>``  one queued record (compact JSON, the fields
                                shared by many beacons replaced by ``"x"``)
``<ns>:n:<queue>``              the next sequence number (base 36)
``<ns>:x:<id>``                 a context: the fields a record left out
                                (partner id, uiconf id, clientVer, referrer,
                                application), shared by every record of a page
``<ns>:dead:<queue>``           the last dead letters (JSON list)
``<ns>:lease``                  the cross-tab sender lease (fallback only)

Appending a record writes its key and the counter (and a context the first
time it is used); acknowledging removes one key: no write depends on the
queue length.  The records a store knows are kept in order of
``(seq, tab)`` so the oldest can be evicted in O(1).

``storage_budget`` (bytes; stored text is ASCII, so one byte per character of
key and value) caps what this namespace keeps.  When an append would go
over it, or ``setItem`` throws (QuotaExceededError), the OLDEST records are
removed until the new one fits; ``append`` returns the ``(queue, beacon_id)``
pairs it removed.  Only when nothing of ours is left to remove and the record
still does not fit (storage full of other data) does ``append`` raise
``StorageFull``: the engine then keeps its queue in memory, as for a storage
that is disabled.

``storage`` is any object with getItem/setItem/removeItem/key/length
(default: the page's localStorage, looked up lazily).
"""

import json
import random

from ..core.ports import Store
from . import _env
from ._convert import call_js, is_nullish
from ._runtime import IN_BROWSER, js

PREFIX = "kaltura_web"
MAX_DEAD_LETTERS = 50
DEFAULT_BUDGET = 2000000  # bytes of the ~5 MB origin quota
CONTEXT_KEYS = ("p", "u", "c", "r", "a")  # record fields shared by many beacons
_B36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def _quote_part(text):
    return str(text).replace("%", "%25").replace(":", "%3A")


def _b36(n):
    if n <= 0:
        return "0"
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = _B36[r] + out
    return out


def _fnv(text):
    h = 2166136261
    for ch in text:
        h = ((h ^ ord(ch)) * 16777619) & 0xFFFFFFFF
    return h


def _dumps(value):
    return json.dumps(value, separators=(",", ":"))


def _is_quota(exc):
    text = "%s %s" % (getattr(exc, "name", ""), exc)
    return "uota" in text or "QUOTA" in text  # QuotaExceededError / NS_ERROR_DOM_QUOTA_REACHED


class StorageUnavailable(Exception):
    pass


class StorageFull(Exception):
    """Even with every record of ours evicted the new one does not fit."""
    name = "QuotaExceededError"


def pack(record):
    """(stored body without the queue and context fields, context dict)."""
    body = {}
    ctx = {}
    for k in record:
        if k == "k":
            continue
        if k in CONTEXT_KEYS:
            ctx[k] = record[k]
        else:
            body[k] = record[k]
    return body, ctx


def unpack(queue, body, ctx):
    """The original record from a stored body and its context."""
    rec = {"k": queue}
    for k in body:
        if k != "x":
            rec[k] = body[k]
    if ctx:
        for k in ctx:
            rec[k] = ctx[k]
    return rec


class LocalStorageStore(Store):
    """The ``ports.Store`` contract on localStorage, plus ``observe(key,
    new_value)`` for the cross-tab ``storage`` event and ``read_item`` /
    ``write_item`` / ``remove_item`` for other keys of the namespace (the
    tabs' lease)."""

    def __init__(self, partner_id, user_id=None, storage=None, prefix=PREFIX,
                 budget=DEFAULT_BUDGET, tab=None):
        self.namespace = "%s:%s:%s" % (prefix, _quote_part(partner_id),
                                       _quote_part(user_id) if user_id else "-")
        self._storage = storage
        self.partner_id = int(partner_id) if str(partner_id).isdigit() else partner_id
        self.budget = int(budget) if budget else DEFAULT_BUDGET
        self.tab = tab or _tab_tag()
        self.used = 0  # bytes (characters) of records and contexts known here
        self.evicted = 0  # records removed to make room (budget or quota)
        self._order = {}  # queue -> list of (seq, tab, key) in FIFO order (stale entries skipped)
        self._head = {}  # queue -> index of the first live entry in _order
        self._live = {}  # key -> (queue, beacon_id, size)
        self._key_of = {}  # beacon_id -> key
        self._contexts = {}  # context id -> text (written by or seen in this store)
        self._last_seq = {}  # queue -> last sequence this store used

    # -- backend -------------------------------------------------------------
    def _backend(self):
        if self._storage is None:
            if not IN_BROWSER:
                raise StorageUnavailable("no localStorage outside a browser")
            storage = _env.local_storage()  # may raise SecurityError
            if storage is None:
                raise StorageUnavailable("localStorage is not available")
            self._storage = storage
        return self._storage

    def read_item(self, key):
        """The text stored under ``key``, or None; raises what the storage raises."""
        raw = self._backend().getItem(key)
        if is_nullish(raw):
            return None
        return str(raw)

    def write_item(self, key, value):
        """Store ``value`` (text) under ``key`` as is: no budget, no eviction."""
        call_js(self._backend(), "setItem", key, value)

    def remove_item(self, key):
        self._backend().removeItem(key)

    def key(self, kind, queue):
        return "%s:%s:%s" % (self.namespace, kind, queue)

    def record_prefix(self, queue):
        return "%s:q:%s:" % (self.namespace, queue)

    def _keys(self):
        storage = self._backend()
        n = int(storage.length)
        out = []
        for i in range(n):
            k = storage.key(i)
            if not is_nullish(k):
                out.append(str(k))
        return out

    def parse_key(self, key):
        """(queue, seq, tab) for a record key of this namespace, else None."""
        head = self.namespace + ":q:"
        if not key.startswith(head):
            return None
        rest = key[len(head):]
        queue, sep, tail = rest.partition(":")
        seq, dot, tab = tail.partition(".")
        if not sep or not dot or not seq:
            return None
        try:
            return queue, int(seq, 36), tab
        except ValueError:
            return None

    # -- index ---------------------------------------------------------------
    def _index_add(self, queue, seq, tab, key, beacon_id, size):
        order = self._order.setdefault(queue, [])
        self._head.setdefault(queue, 0)
        entry = (seq, tab, key)
        if order and (order[-1][0], order[-1][1]) > (seq, tab):
            # another tab's record that sorts before our newest: insert in place
            i = len(order)
            while i > self._head[queue] and (order[i - 1][0], order[i - 1][1]) > (seq, tab):
                i -= 1
            order.insert(i, entry)
        else:
            order.append(entry)
        old = self._live.get(key)
        if old is not None:
            self.used -= old[2]
        self._live[key] = (queue, beacon_id, size)
        self._key_of[beacon_id] = key
        self.used += size

    def _index_drop(self, key):
        info = self._live.pop(key, None)
        if info is None:
            return None
        self.used -= info[2]
        if self._key_of.get(info[1]) == key:
            del self._key_of[info[1]]
        return info

    def _oldest(self, queue):
        order = self._order.get(queue)
        if not order:
            return None
        h = self._head.get(queue, 0)
        while h < len(order) and order[h][2] not in self._live:
            h += 1
        if h > 64 and h * 2 > len(order):  # compact now and then (amortised O(1))
            del order[:h]
            h = 0
        self._head[queue] = h
        return order[h][2] if h < len(order) else None

    def count(self, queue=None):
        if queue is None:
            return len(self._live)
        return sum(1 for info in self._live.values() if info[0] == queue)

    # -- contexts --------------------------------------------------------------
    def _context_id(self, ctx):
        if not ctx:
            return None
        text = _dumps([[k, ctx[k]] for k in sorted(ctx)])
        salt = 0
        while True:
            cid = _b36(_fnv(text if not salt else text + str(salt)))
            key = self.key("x", cid)
            stored = self.read_item(key)  # one read per append: another tab may have pruned it
            if stored is None:
                self._set(key, text, None)
                self.used += len(key) + len(text)
                self._contexts[cid] = text
                return cid
            if stored == text:
                self._contexts[cid] = text
                return cid
            salt += 1  # a different context with the same hash

    def _read_context(self, cid):
        text = self._contexts.get(cid)
        if text is None:
            text = self.read_item(self.key("x", cid))
            if text is None:
                return None
            self._contexts[cid] = text
        try:
            pairs = json.loads(text)
        except ValueError:
            return None
        return dict((p[0], p[1]) for p in pairs)

    # -- writes with eviction ----------------------------------------------------
    def _evict_one(self, prefer):
        for queue in (prefer,) + tuple(q for q in self._order if q != prefer):
            key = self._oldest(queue)
            if key is not None:
                info = self._index_drop(key)
                self.remove_item(key)
                self.evicted += 1
                return (info[0], info[1])
        return None

    def _set(self, key, value, prefer, evicted=None):
        """setItem, evicting the oldest records on a quota error.  False if
        nothing more could be evicted."""
        while True:
            try:
                self.write_item(key, value)
                return True
            except Exception as exc:
                if not _is_quota(exc) or prefer is None:
                    raise
                victim = self._evict_one(prefer)
                if victim is None:
                    return False
                if evicted is not None:
                    evicted.append(victim)

    # -- Store interface ---------------------------------------------------------
    def load(self, queue):
        """Every stored record of ``queue`` in FIFO order (re-reads storage)."""
        prefix = self.record_prefix(queue)
        found = []
        for key in self._keys():
            if key.startswith(prefix):
                parsed = self.parse_key(key)
                if parsed is not None:
                    found.append((parsed[1], parsed[2], key))
        found.sort()
        for key in [k for k, info in self._live.items() if info[0] == queue]:
            self._index_drop(key)
        self._order[queue] = []
        self._head[queue] = 0
        out = []
        for seq, tab, key in found:
            raw = self.read_item(key)
            rec = self._read_record(queue, key, raw)
            if rec is None:
                continue
            self._index_add(queue, seq, tab, key, rec["i"], len(key) + len(raw))
            if self._last_seq.get(queue, -1) < seq:
                self._last_seq[queue] = seq
            out.append(rec)
        return out

    def _read_record(self, queue, key, raw=None):
        raw = self.read_item(key) if raw is None else raw
        if raw is None:
            return None
        try:
            body = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(body, dict) or "i" not in body:
            return None
        ctx = None
        if "x" in body:
            ctx = self._read_context(body["x"])
            if ctx is None:  # pruned by another tab in a race: the partner id is the namespace's
                ctx = {"p": self.partner_id}
        return unpack(queue, body, ctx)

    def append(self, queue, record):
        """Store ``record``; returns the (queue, beacon_id) pairs evicted to
        make room (oldest first), None when nothing was evicted.  Raises
        StorageFull when it does not fit even with all of ours evicted."""
        evicted = []
        body, ctx = pack(record)
        cid = None
        if ctx:
            try:
                cid = self._context_id(ctx)
            except Exception as exc:
                if not _is_quota(exc):
                    raise
                while cid is None:
                    victim = self._evict_one(queue)
                    if victim is None:
                        break
                    evicted.append(victim)
                    try:
                        cid = self._context_id(ctx)
                    except Exception as again:
                        if not _is_quota(again):
                            raise
        if ctx and cid is None:
            raise StorageFull("localStorage full of other data: nothing of ours left to evict")
        if cid is not None:
            body["x"] = cid
        counter = self.key("n", queue)
        raw_n = self.read_item(counter)
        try:
            seq = int(raw_n, 36) if raw_n else 0
        except ValueError:
            seq = 0
        seq = max(seq, self._last_seq.get(queue, -1) + 1)
        self._last_seq[queue] = seq
        key = "%s%s.%s" % (self.record_prefix(queue), _b36(seq), self.tab)
        value = _dumps(body)
        size = len(key) + len(value)
        while self.used + size > self.budget:
            victim = self._evict_one(queue)
            if victim is None:
                break
            evicted.append(victim)
        if not self._set(key, value, queue, evicted):
            raise StorageFull("localStorage full of other data: nothing of ours left to evict")
        self._index_add(queue, seq, self.tab, key, record["i"], size)
        self._set(counter, _b36(seq + 1), queue, evicted)
        return evicted or None

    def remove(self, queue, beacon_id):
        key = self._key_of.get(beacon_id)
        if key is None:
            return
        self._index_drop(key)
        self.remove_item(key)

    def drop_oldest(self, queue, count):
        for _ in range(count):
            key = self._oldest(queue)
            if key is None:
                return
            self._index_drop(key)
            self.remove_item(key)

    def observe(self, key, new_value):
        """A ``storage`` event from another tab: ("add", record), ("remove",
        queue, beacon_id) or None (not a record of this namespace)."""
        if key is None:
            return None
        key = str(key)
        parsed = self.parse_key(key)
        if parsed is None:
            return None
        queue, seq, tab = parsed
        if is_nullish(new_value):
            info = self._index_drop(key)
            if info is None:
                return None
            return ("remove", info[0], info[1])
        raw = str(new_value)
        rec = self._read_record(queue, key, raw)
        if rec is None:
            return None
        self._index_add(queue, seq, tab, key, rec["i"], len(key) + len(raw))
        return ("add", rec)

    def dead_letter(self, queue, record, reason):
        key = self.key("dead", queue)
        dead = self._read_list(key)
        dead.append({"record": record, "reason": reason})
        try:
            self.write_item(key, _dumps(dead[-MAX_DEAD_LETTERS:]))
        except Exception as exc:
            if not _is_quota(exc):
                raise  # a full storage only loses the dead letter

    def dead_letters(self, queue):
        return self._read_list(self.key("dead", queue))

    def _read_list(self, key):
        raw = self.read_item(key)
        if not raw:
            return []
        try:
            data = json.loads(raw)
        except ValueError:
            return []
        return data if isinstance(data, list) else []

    def prune_contexts(self):
        """Remove contexts no stored record refers to (call after a full load)."""
        used = set()
        for key in list(self._live):
            raw = self.read_item(key)
            if raw and '"x":"' in raw:
                used.add(raw.split('"x":"', 1)[1].split('"', 1)[0])
        head = self.namespace + ":x:"
        removed = 0
        for key in self._keys():
            if key.startswith(head) and key[len(head):] not in used:
                self.remove_item(key)
                self._contexts.pop(key[len(head):], None)
                removed += 1
        return removed

    def clear(self):
        """Forget this namespace's queues, contexts and dead letters."""
        head = self.namespace + ":"
        for key in self._keys():
            if key.startswith(head):
                self.remove_item(key)
        self._reset()

    def _reset(self):
        self.used = 0
        self._order, self._head, self._live = {}, {}, {}
        self._key_of, self._contexts, self._last_seq = {}, {}, {}


def _tab_tag():
    n = random.getrandbits(20)
    if IN_BROWSER:
        n ^= int(js.Math.random() * 1048576)
    return _b36(n)
