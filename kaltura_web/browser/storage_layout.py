"""What ``LocalStorageStore`` keeps under which key, and how a record is packed.

Layout (``<ns>`` is ``kaltura_web:<partner>:<user or ->``, or
``kaltura_web:<partner>:%anon`` for an anonymous page; see docs/storage.md):

``<ns>:q:<queue>:<seq>.<tab>``  one queued record (compact JSON, the fields
                                shared by many beacons replaced by ``"x"``)
``<ns>:n:<queue>``              the next sequence number (base 36)
``<ns>:x:<id>``                 a context: the fields a record left out
                                (partner id, uiconf id, clientVer, referrer,
                                application, widget id, user id, application
                                version, virtual event id), shared by every
                                record of a page
``<ns>:dead:<queue>``           the last dead letters (JSON list)
``<ns>:lease``                  the cross-tab sender lease (fallback only)
``kaltura_web:consent``         ``granted`` once the visitor granted consent
                                (pending and denied are never written)
``kaltura_web:signal``          written and removed at once: tells the other
                                tabs ``denied:<nonce>`` or ``erase:<nonce>``

Text in, text out: nothing here touches a storage.  Records sort by
``(seq, tab)``.
"""

import json

PREFIX = "kaltura_web"  # consent.py writes the consent and signal keys under it too
# the user part of an anonymous page's namespace: quoting makes "%" of any
# user id "%25", so no user id can name it (nor "-", a page without a user)
ANONYMOUS = "%anon"
# record fields shared by many beacons; a record stored before a key was added
# simply lacks it (its context has fewer pairs) and still encodes
CONTEXT_KEYS = ("p", "u", "c", "r", "a", "w", "ui", "av", "ve")
_B36 = "0123456789abcdefghijklmnopqrstuvwxyz"
_CONTEXT_REF = '"x":"'  # how a packed body refers to its context


def _quote_part(text):
    return str(text).replace("%", "%25").replace(":", "%3A")


def b36(n):
    """``n`` (an int >= 0) in base 36, lower case."""
    if n <= 0:
        return "0"
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = _B36[r] + out
    return out


def counter_value(raw):
    """The sequence number stored under a counter key (0 when missing or unreadable)."""
    try:
        return int(raw, 36) if raw else 0
    except ValueError:
        return 0


def _fnv(text):
    """32-bit FNV-1a of ``text``."""
    h = 2166136261
    for ch in text:
        h = ((h ^ ord(ch)) * 16777619) & 0xFFFFFFFF
    return h


def dumps(value):
    """Compact JSON text."""
    return json.dumps(value, separators=(",", ":"))


def _loads(raw):
    """The JSON value of ``raw``, or None when it is missing or not JSON."""
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def parse_list(raw):
    """A stored JSON list (the dead letters), [] for anything else."""
    data = _loads(raw)
    return data if isinstance(data, list) else []


class Namespace:
    """The keys of one partner and user: ``name`` is ``<ns>``."""

    def __init__(self, partner_id, user_id=None, prefix=PREFIX, anonymous=False):
        self.prefix = prefix
        user = ANONYMOUS if anonymous else (_quote_part(user_id) if user_id else "-")
        self.name = "%s:%s:%s" % (prefix, _quote_part(partner_id), user)

    def is_sdk_key(self, key):
        """True for every key of the SDK on the origin (any partner or user,
        the consent key): what ``erase`` removes."""
        return key.startswith(self.prefix + ":")

    def owns(self, key):
        """True for every key of this namespace."""
        return key.startswith(self.name + ":")

    def key(self, kind, name):
        """``<ns>:<kind>:<name>`` (kind ``n``, ``x`` or ``dead``)."""
        return "%s:%s:%s" % (self.name, kind, name)

    def record_prefix(self, queue):
        return "%s:q:%s:" % (self.name, queue)

    def record_key(self, queue, seq, tab):
        return "%s%s.%s" % (self.record_prefix(queue), b36(seq), tab)

    def parse_record_key(self, key):
        """(queue, seq, tab) for a record key of this namespace, else None."""
        head = self.name + ":q:"
        if not key.startswith(head):
            return None
        queue, sep, tail = key[len(head):].partition(":")
        seq, dot, tab = tail.partition(".")
        if not sep or not dot or not seq:
            return None
        try:
            return queue, int(seq, 36), tab
        except ValueError:
            return None

    def context_name(self, key):
        """The context id of a context key of this namespace, else None."""
        head = self.name + ":x:"
        return key[len(head):] if key.startswith(head) else None


# -- records and contexts ------------------------------------------------------
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


def parse_body(raw):
    """A stored record body (a dict with a beacon id ``"i"``), or None."""
    body = _loads(raw)
    return body if isinstance(body, dict) and "i" in body else None


def context_text(ctx):
    """The stored text of a context: its pairs in key order."""
    return dumps([[k, ctx[k]] for k in sorted(ctx)])


def context_id(text, salt=0):
    """The id of a context's text; ``salt`` > 0 when another context took the plain one."""
    return b36(_fnv(text if not salt else text + str(salt)))


def parse_context(text):
    """The context dict of a stored context text, or None."""
    pairs = _loads(text)
    if not isinstance(pairs, list):
        return None
    return dict((p[0], p[1]) for p in pairs)


def context_ref(raw):
    """The context id a stored body refers to, or None (read without parsing the JSON)."""
    if not raw or _CONTEXT_REF not in raw:
        return None
    return raw.split(_CONTEXT_REF, 1)[1].split('"', 1)[0]
