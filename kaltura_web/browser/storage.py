"""A Store on ``window.localStorage`` (the DeliveryEngine's persistence).

Which key holds what, and how a record is packed, is ``storage_layout``
(see docs/storage.md).  Appending a record writes its key and the counter
(and a context the first time it is used); acknowledging removes one key: no
write depends on the queue length.  The records a store knows are kept in
order of ``(seq, tab)`` so the oldest can be evicted in O(1).

``storage_budget`` (bytes; stored text is ASCII, so one byte per character of
key and value) caps what this namespace keeps.  When an append would go
over it, or ``setItem`` throws a QuotaExceededError (``QuotaExceeded``
here), the OLDEST records are removed until the new one fits; ``append``
returns the ``(queue, beacon_id)`` pairs it removed.  Only when nothing of
ours is left to remove and the record still does not fit (storage full of
other data) does ``append`` raise ``StorageFull``: the engine then keeps its
queue in memory, as for a storage that is disabled.

``scan_later=True`` (what ``start()`` uses) keeps the scan of the stored
queue off the page's start: until ``scan()``, ``load`` answers only with the
records this store wrote itself, appends take their sequence numbers from
the stored counter (so they sort after the backlog), and a full quota keeps
the new record in memory instead of evicting records nobody has read yet.
After ``scan()`` the engine's ``reload`` reads everything, the backlog first.

``storage`` is any object with getItem/setItem/removeItem/key/length
(default: the page's localStorage, looked up lazily).  A call the browser
refuses raises ``JsException`` (``STORAGE_ERRORS`` lists what a storage call
may raise).
"""

import random

from ..core import diagnostics as diag
from ..core.ports import Store
from . import _env
from ._convert import call_js, is_nullish
from ._runtime import IN_BROWSER, JsException, js
from .storage_layout import (PREFIX, Namespace, b36, context_id, context_ref, context_text, counter_value,
                             dumps, pack, parse_body, parse_context, parse_list, unpack)

MAX_DEAD_LETTERS = 50
DEFAULT_BUDGET = 2000000  # bytes of the ~5 MB origin quota


class StorageUnavailable(Exception):
    """There is no localStorage: not in a browser, or the page has none."""


class QuotaExceeded(Exception):
    """``setItem`` refused because the origin's storage quota is full."""


class StorageFull(Exception):
    """Even with every record of ours evicted the new one does not fit."""
    name = "QuotaExceededError"


# what a call on localStorage may raise: the browser's refusal (SecurityError
# where storage is blocked), no storage at all, a full quota
STORAGE_ERRORS = (JsException, StorageUnavailable, QuotaExceeded)


def _is_quota(exc):
    text = "%s %s" % (getattr(exc, "name", ""), exc)
    return "uota" in text or "QUOTA" in text  # QuotaExceededError / NS_ERROR_DOM_QUOTA_REACHED


def set_item(storage, key, value):
    """``storage.setItem(key, value)``; a full quota raises ``QuotaExceeded``,
    any other refusal the browser's ``JsException``."""
    try:
        call_js(storage, "setItem", key, value)
    except JsException as exc:
        if _is_quota(exc):
            raise QuotaExceeded(str(exc))
        raise


class LocalStorageStore(Store):
    """The ``ports.Store`` contract on localStorage, plus ``observe(key,
    new_value)`` for the cross-tab ``storage`` event and ``read_item`` /
    ``write_item`` / ``remove_item`` for other keys of the namespace (the
    tabs' lease).  ``diagnose(code, message, details)`` (optional, e.g.
    ``tracker.diagnose``) hears what the store loses without failing: a dead
    letter a full storage cannot keep."""

    def __init__(self, partner_id, user_id=None, storage=None, prefix=PREFIX,
                 budget=DEFAULT_BUDGET, tab=None, diagnose=None, scan_later=False, anonymous=False):
        self._ns = Namespace(partner_id, None if anonymous else user_id, prefix, anonymous)
        self.namespace = self._ns.name
        self._storage = storage
        self.diagnose = diagnose
        self.partner_id = int(partner_id) if str(partner_id).isdigit() else partner_id
        self.budget = int(budget) if budget else DEFAULT_BUDGET
        self.tab = tab or _tab_tag()
        self.evicted = 0  # records removed to make room (budget or quota)
        self.scanned = not scan_later  # False: the stored queue has not been read yet
        self._reset()

    def _reset(self):
        self.used = 0  # bytes (characters) of records and contexts known here
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
        """Store ``value`` (text) under ``key`` as is: no budget, no eviction;
        a full quota raises ``QuotaExceeded``."""
        set_item(self._backend(), key, value)

    def remove_item(self, key):
        self._backend().removeItem(key)

    def _keys(self):
        storage = self._backend()
        n = int(storage.length)
        out = []
        for i in range(n):
            k = storage.key(i)
            if not is_nullish(k):
                out.append(str(k))
        return out

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
    def _context_id(self, ctx, queue, evicted):
        """The id of the stored context ``ctx``, written the first time (evicting
        the oldest records when the quota is full; ``StorageFull`` when nothing
        is left to evict)."""
        text = context_text(ctx)
        salt = 0
        while True:
            cid = context_id(text, salt)
            key = self._ns.key("x", cid)
            stored = self.read_item(key)  # one read per append: another tab may have pruned it
            if stored is None:
                if not self._set(key, text, queue, evicted):
                    raise StorageFull("localStorage full of other data: nothing of ours left to evict")
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
            text = self.read_item(self._ns.key("x", cid))
            if text is None:
                return None
            self._contexts[cid] = text
        return parse_context(text)

    # -- writes with eviction ----------------------------------------------------
    def _evict_one(self, prefer):
        if not self.scanned:
            return None  # the oldest records are not known before the scan
        for queue in (prefer,) + tuple(q for q in self._order if q != prefer):
            key = self._oldest(queue)
            if key is not None:
                info = self._index_drop(key)
                self.remove_item(key)
                self.evicted += 1
                return (info[0], info[1])
        return None

    def _set(self, key, value, prefer, evicted):
        """setItem, evicting the oldest records (``prefer``'s queue first) while
        the quota is full; the evicted pairs go to ``evicted``.  False when
        nothing more could be evicted."""
        while True:
            try:
                self.write_item(key, value)
                return True
            except QuotaExceeded:
                victim = self._evict_one(prefer)
                if victim is None:
                    return False
                evicted.append(victim)

    # -- Store interface ---------------------------------------------------------
    def scan(self):
        """From now on ``load`` reads the whole stored queue (the engine's
        ``reload`` puts the backlog ahead of what was recorded meanwhile)."""
        self.scanned = True

    def _own(self, queue):
        """Before the scan: the records of ``queue`` this store wrote, in order."""
        out = []
        order = self._order.get(queue, [])
        for entry in order[self._head.get(queue, 0):]:
            if entry[2] in self._live:
                rec = self._read_record(queue, self.read_item(entry[2]) or "")
                if rec is not None:
                    out.append(rec)
        return out

    def load(self, queue):
        """Every stored record of ``queue`` in FIFO order (re-reads storage);
        before ``scan()`` only the records this store wrote itself."""
        if not self.scanned:
            return self._own(queue)
        prefix = self._ns.record_prefix(queue)
        found = []
        for key in self._keys():
            if key.startswith(prefix):
                parsed = self._ns.parse_record_key(key)
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
            rec = self._read_record(queue, raw)
            if rec is None:
                continue
            self._index_add(queue, seq, tab, key, rec["i"], len(key) + len(raw))
            if self._last_seq.get(queue, -1) < seq:
                self._last_seq[queue] = seq
            out.append(rec)
        return out

    def _read_record(self, queue, raw):
        body = parse_body(raw)
        if body is None:
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
        if ctx:
            try:
                body["x"] = self._context_id(ctx, queue, evicted)
            except StorageFull:
                if self.scanned:
                    raise
                return evicted + [(queue, record["i"])]  # not scanned: kept in memory (see scan_later)
        counter = self._ns.key("n", queue)
        seq = max(counter_value(self.read_item(counter)), self._last_seq.get(queue, -1) + 1)
        self._last_seq[queue] = seq
        key = self._ns.record_key(queue, seq, self.tab)
        value = dumps(body)
        size = len(key) + len(value)
        while self.used + size > self.budget:
            victim = self._evict_one(queue)
            if victim is None:
                break
            evicted.append(victim)
        if not self._set(key, value, queue, evicted):
            if not self.scanned:
                return evicted + [(queue, record["i"])]  # kept in memory: the backlog is not read yet
            raise StorageFull("localStorage full of other data: nothing of ours left to evict")
        self._index_add(queue, seq, self.tab, key, record["i"], size)
        self._set(counter, b36(seq + 1), queue, evicted)
        return evicted or None

    def remove(self, queue, beacon_id):
        key = self._key_of.get(beacon_id)
        if key is None:
            return
        info = self._index_drop(key)
        self.remove_item(key)
        if info is not None:
            self._oldest(info[0])  # moves the head past removed entries and compacts: the index stays bounded

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
        parsed = self._ns.parse_record_key(key)
        if parsed is None:
            return None
        queue, seq, tab = parsed
        if is_nullish(new_value):
            info = self._index_drop(key)
            if info is None:
                return None
            return ("remove", info[0], info[1])
        raw = str(new_value)
        rec = self._read_record(queue, raw)
        if rec is None:
            return None
        self._index_add(queue, seq, tab, key, rec["i"], len(key) + len(raw))
        return ("add", rec)

    def dead_letter(self, queue, record, reason):
        """Keep the last ``MAX_DEAD_LETTERS``; a full storage loses only the dead
        letter (reported to ``diagnose``), never a queued record."""
        key = self._ns.key("dead", queue)
        dead = self.dead_letters(queue)
        dead.append({"record": record, "reason": reason})
        try:
            self.write_item(key, dumps(dead[-MAX_DEAD_LETTERS:]))
        except QuotaExceeded as exc:
            if self.diagnose is not None:
                self.diagnose(diag.STORAGE_FULL, "storage full: dead letter not kept",
                              {"queue": queue, "beacon": record.get("i"), "error": str(exc)})

    def dead_letters(self, queue):
        return parse_list(self.read_item(self._ns.key("dead", queue)))

    def prune_contexts(self):
        """Remove contexts no stored record refers to (call after a full load;
        nothing before the scan)."""
        if not self.scanned:
            return 0
        used = set()
        for key in list(self._live):
            used.add(context_ref(self.read_item(key)))
        removed = 0
        for key in self._keys():
            cid = self._ns.context_name(key)
            if cid is not None and cid not in used:
                self.remove_item(key)
                self._contexts.pop(cid, None)
                removed += 1
        return removed

    def clear(self):
        """Forget this namespace's queues, contexts and dead letters."""
        for key in self._keys():
            if self._ns.owns(key):
                self.remove_item(key)
        self._reset()

    def erase(self):
        """Remove every key of the SDK on this origin: every namespace (other
        partners and users too), the lease, the consent key (``Store.erase``)."""
        for key in self._keys():
            if self._ns.is_sdk_key(key):
                self.remove_item(key)
        self._reset()


def _tab_tag():
    n = random.getrandbits(20)
    if IN_BROWSER:
        n ^= int(js.Math.random() * 1048576)
    return b36(n)
