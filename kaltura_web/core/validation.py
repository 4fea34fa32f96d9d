"""Checks of what a developer passes to the SDK, all in one place.

A wrong argument raises at the call, before anything changes: ``TypeError``
for a wrong type, ``ValueError`` for a wrong value, the message naming the
argument (and never showing a KS).  Runtime data (what a media element
reports) is not judged here: the state machine drops nonsense values with a
diagnostic.  Pure, and the same on MicroPython.
"""

from ._compat import is_finite, is_int, is_number

MAX_ID = 2147483647  # Kaltura ids (partner, uiconf) are 32-bit signed integers
MAX_SECONDS = MAX_ID  # the largest position or duration a beacon may carry (68 years)
MAX_TIME = 4294967295  # the largest eventTimestamp (Unix seconds, year 2106)
_DIGITS = "0123456789"
# consent states: granted sends (the default), pending keeps beacons in memory only,
# denied discards them and erases the stored queue (``delivery.DeliveryEngine.set_consent``)
GRANTED = "granted"
PENDING = "pending"
DENIED = "denied"
CONSENT_STATES = (GRANTED, PENDING, DENIED)


def encodable(value) -> bool:
    """True when the string can be encoded as UTF-8 (no lone surrogate, such
    as ``os.fsdecode`` makes of a non-UTF-8 file name)."""
    try:
        value.encode("utf-8")
    except ValueError:  # UnicodeEncodeError
        return False
    return True


def text(value, what, optional=True, blank=True):
    """A string argument that will travel in a beacon: None when
    ``optional``, else a str that encodes as UTF-8 (and is not blank unless
    ``blank``)."""
    if value is None and optional:
        return None
    if type(value) is not str:
        raise TypeError("%s must be a string, got %s" % (what, type(value).__name__))
    if not blank and not value.strip():
        raise ValueError("%s must be a non-empty string" % what)
    if not encodable(value):
        raise ValueError("%s cannot be encoded as UTF-8 (it holds a lone surrogate, as os.fsdecode "
                         "makes of a non-UTF-8 name)" % what)
    return value


def identifier(value, what):
    """A Kaltura id (partner, uiconf): an int or a string of ASCII digits, 1 to 2**31-1."""
    if type(value) is str and 0 < len(value) <= 10:
        digits = True
        for ch in value:
            if ch not in _DIGITS:
                digits = False
        if digits:
            value = int(value)
    if not is_int(value) or not 0 < value <= MAX_ID:
        raise ValueError("%s must be an integer from 1 to %d, got %s" % (what, MAX_ID, _show(value)))
    return value


def seconds(value, what, limit=MAX_SECONDS):
    """A number of seconds: an int or float, finite, from 0 to ``limit``."""
    if not is_number(value):
        raise TypeError("%s must be a number of seconds, got %s" % (what, type(value).__name__))
    if not (is_finite(value) and 0 <= value <= limit):
        raise ValueError("%s must be finite seconds from 0 to %d, got %s" % (what, limit, _show(value)))
    return value


def timestamp(value):
    """An observation time given by the developer: Unix seconds."""
    return seconds(value, "t", MAX_TIME)


def url(value, what):
    """An http(s) URL with a host, without a trailing slash."""
    if type(value) is not str:
        raise TypeError("%s must be an http(s) URL string, got %s" % (what, type(value).__name__))
    rest = None
    for scheme in ("http://", "https://"):
        if value.startswith(scheme):
            rest = value[len(scheme):]
    if rest is None:
        raise ValueError("%s must be an http(s) URL, got %s" % (what, _show(value)))
    host = rest
    for sep in ("/", "?", "#"):
        host = host.split(sep)[0]
    host = host.split("@")[-1]
    if not host or host.startswith(":") or not encodable(value):
        raise ValueError("%s must be an http(s) URL with a host, got %s" % (what, _show(value)))
    return value.rstrip("/")


def consent(value, what="consent"):
    """A consent state: "granted", "pending" or "denied"."""
    if type(value) is not str:
        raise TypeError("%s must be a string, got %s" % (what, type(value).__name__))
    if value not in CONSENT_STATES:
        raise ValueError("%s must be one of %s, got %s" % (what, ", ".join(CONSENT_STATES), _show(value)))
    return value


def flag(value, what):
    """True or False, nothing else (not 1, not "yes")."""
    if value is not True and value is not False:
        raise TypeError("%s must be True or False, got %s" % (what, _show(value)))
    return value


def hook(value, what):
    """None or a callable."""
    if value is not None and not callable(value):
        raise TypeError("%s must be callable, got %s" % (what, type(value).__name__))
    return value


def ks(value):
    """A KS: a non-empty string that encodes (never shown in the message)."""
    if type(value) is not str or not value:
        raise TypeError("ks must be a non-empty string, got %s" % type(value).__name__)
    if not encodable(value):
        raise ValueError("ks cannot be encoded as UTF-8")
    return value


def _show(value):
    """A short, printable form of a wrong value for an error message."""
    if is_int(value) and not -10 ** 20 < value < 10 ** 20:
        return "an integer of more than 20 digits"
    shown = repr(value)
    return shown if len(shown) <= 40 else shown[:37] + "..."
