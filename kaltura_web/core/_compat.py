"""The one place that knows the core also runs on MicroPython 1.28.

MicroPython lacks dataclasses, enum, typing, urllib, uuid and ``__future__``,
and there ``isinstance(True, int)`` is False.  Core modules import what they
need from here instead of testing the runtime themselves.
"""

import sys

IS_MICROPYTHON = sys.implementation.name == "micropython"

# a set of characters (a letter added twice changes nothing, hence the pragma)
_SAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~"  # pragma: no mutate
_HEX = "0123456789ABCDEF"


def is_int(value) -> bool:
    """True for real integers, never for booleans (on every runtime)."""
    return type(value) is int


def is_number(value) -> bool:
    """True for int or float, never for booleans."""
    return type(value) is int or type(value) is float


def is_nan(value) -> bool:
    return value != value


_INF = float("inf")


def is_finite(value) -> bool:
    """False for NaN and the infinities."""
    return -_INF < value < _INF


def quote(text: str) -> str:
    """Percent-encode for application/x-www-form-urlencoded (space -> '+')."""
    out = []
    for byte in str(text).encode("utf-8"):
        ch = chr(byte)
        if ch in _SAFE:
            out.append(ch)
        elif ch == " ":
            out.append("+")
        else:
            out.append("%" + _HEX[byte >> 4] + _HEX[byte & 15])
    return "".join(out)


def urlencode(pairs) -> str:
    """Form-encode a list of (name, value) pairs, keeping their order."""
    return "&".join(quote(k) + "=" + quote(v) for k, v in pairs)


def uuid4(rng) -> str:
    """A random (version 4) UUID string drawn from ``rng.getrandbits``.

    ``rng`` is injected so tests and conformance vectors are reproducible;
    MicroPython's getrandbits gives at most 32 bits per call.
    """
    words = [rng.getrandbits(32) for _ in range(4)]
    words[1] = (words[1] & 0xFFFF0FFF) | 0x00004000
    words[2] = (words[2] & 0x3FFFFFFF) | 0x80000000
    h = "".join("%08x" % w for w in words)
    return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
