"""The two contracts between the core and its edges, written once.

A **Store** keeps queued records where they survive the process (SQLite on
servers, localStorage in pages, memory in tests).  A **Transport** carries a
``Request`` and says what came back: a ``Response`` (any HTTP status, with its
headers and body) or a ``TransportError`` when no answer came at all.  The
edges subclass these classes; the core never looks further than what is
documented here.
"""

# kinds of TransportError
NETWORK = "network"  # no connection: DNS, refused, reset, offline, a CORS refusal
TIMEOUT = "timeout"  # the answer did not come in time
TLS = "tls"  # the certificate or the handshake failed
INVALID = "invalid"  # the transport gave something that is not a Response (a bug in it)
ERROR_KINDS = (NETWORK, TIMEOUT, TLS, INVALID)


class Store:
    """Where the delivery engine keeps its queues.  Every method may raise
    (quota, disk, storage disabled): the engine catches it, reports
    ``store-failed`` and goes on with its queues in memory only.  A record is
    a JSON-compatible dict whose ``"i"`` is its beacon id."""

    def load(self, queue):
        """Every stored record of ``queue``, oldest first (read afresh: several
        engines, e.g. browser tabs, may share one store)."""
        raise NotImplementedError

    def append(self, queue, record):
        """Keep ``record`` at the tail of ``queue``.  Returns None, or the list
        of ``(queue, beacon_id)`` pairs evicted to make room, oldest first; the
        list may end with ``record`` itself when it could not be kept (the
        engine then keeps it in memory only)."""
        raise NotImplementedError

    def remove(self, queue, beacon_id):
        """Forget one record (accepted or dead-lettered); an unknown id is no error."""
        raise NotImplementedError

    def drop_oldest(self, queue, count):
        """Forget the ``count`` oldest records of ``queue`` (the queue overflowed)."""
        raise NotImplementedError

    def dead_letter(self, queue, record, reason):
        """Keep a record the server refused for good, with the reason (text)."""
        raise NotImplementedError

    def dead_letters(self, queue):
        """The dead letters of ``queue``, oldest first: ``[{"record", "reason"}]``."""
        raise NotImplementedError

    def erase(self):
        """Forget everything the SDK keeps here: every queue, every dead letter,
        every other key (a browser store: every key of the SDK on the origin,
        whatever its partner or user).  Consent denied and ``erase()`` call it.
        A store without it is emptied queue by queue through ``load`` and
        ``drop_oldest`` (its dead letters stay)."""
        raise NotImplementedError


class MemoryStore(Store):
    """A Store in memory: the engine's default, and the reference for tests."""

    def __init__(self):
        self.queues = {}
        self.dead = {}

    def load(self, queue):
        return list(self.queues.get(queue, []))

    def append(self, queue, record):
        self.queues.setdefault(queue, []).append(record)
        return None

    def remove(self, queue, beacon_id):
        items = self.queues.get(queue, [])
        for i in range(len(items)):
            if items[i]["i"] == beacon_id:
                del items[i]
                return

    def drop_oldest(self, queue, count):
        del self.queues.get(queue, [])[:count]

    def dead_letter(self, queue, record, reason):
        self.dead.setdefault(queue, []).append({"record": record, "reason": reason})

    def dead_letters(self, queue):
        return list(self.dead.get(queue, []))

    def erase(self):
        self.queues = {}
        self.dead = {}


class Response:
    """An HTTP answer: ``status`` (int), ``headers`` (names in lower case) and ``body`` (text)."""

    __slots__ = ("status", "headers", "body")

    def __init__(self, status, headers=None, body=""):
        if type(status) is not int or not 100 <= status <= 599:
            raise ValueError("status must be an HTTP status code (100-599), got %r" % (status,))
        self.status = status
        self.headers = {}
        if headers:
            for name in headers:
                self.headers[str(name).lower()] = str(headers[name])
        self.body = "" if body is None else str(body)

    def header(self, name):
        """The value of header ``name`` (any case), or None."""
        return self.headers.get(name.lower())

    def __repr__(self):
        return "Response(%d, %d headers, %d characters)" % (self.status, len(self.headers), len(self.body))


class TransportError(Exception):
    """No answer came: ``kind`` is one of ``ERROR_KINDS``, ``message`` says why.
    A transport may return it or raise it; the senders treat both alike."""

    def __init__(self, kind, message=""):
        if kind not in ERROR_KINDS:
            raise ValueError("kind must be one of %s, got %r" % (", ".join(ERROR_KINDS), kind))
        super().__init__("%s: %s" % (kind, message) if message else kind)
        self.kind = kind
        self.message = str(message)


class Transport:
    """Carries a ``Request`` (``method``, ``url``, ``headers``, ``body``)."""

    def send(self, request):
        """Make ``request`` and return its ``Response`` (whatever the status),
        or a ``TransportError`` when no answer came.  Never raises anything
        else.  A browser transport's ``send`` is a coroutine of the same."""
        raise NotImplementedError


def raised(exc):
    """The TransportError standing for an exception a transport raised: the
    error itself, or kind NETWORK for anything else (the batch is retried,
    never left in flight)."""
    if isinstance(exc, TransportError):
        return exc
    return TransportError(NETWORK, "the transport raised %r" % (exc,))


def as_answer(value):
    """``value`` when it is a Response or a TransportError; anything else a
    transport gave (a bug in it) becomes a TransportError of kind INVALID."""
    if isinstance(value, (Response, TransportError)):
        return value
    return TransportError(INVALID, "the transport gave %s, not a Response" % type(value).__name__)
