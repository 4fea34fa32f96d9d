"""The page around the SDK: window, document, navigator, storage, the clock
and randomness, and the window events the SDK dispatches.

Every function here needs a page (``RuntimeError`` on plain CPython) except
``now``/``now_ms``, ``make_rng``, ``pyscript_config`` and ``mark`` (a no-op there).

MicroPython passes JS integers through int32, so ``Date.now()`` wraps: the
clock is ``time.time()`` (a float from ``Date.now()`` on both runtimes).
MicroPython's ``random`` has no ``Random`` class and there is no
``os.urandom``: ``make_rng`` seeds the module's generator from
``crypto.getRandomValues`` instead.
"""

import random
import sys
import time

from ._convert import call_js, is_nullish, to_js
from ._runtime import IN_BROWSER, IS_MICROPYTHON, JsException, js, need_browser

ERROR_EVENT = "kaltura-web:error"  # dispatched on window when there is no tracker to report to


def window():
    need_browser()
    return js.window


def document():
    need_browser()
    return js.document


def page_url():
    """``location.href`` as a string."""
    need_browser()
    return str(js.location.href)


def absolute_url(url):
    """``url`` resolved against the page's address."""
    need_browser()
    return str(js.URL.new(url, page_url()).href)


def is_online():
    need_browser()
    return bool(js.navigator.onLine)


def is_hidden():
    """True when ``document.visibilityState`` is "hidden"."""
    need_browser()
    return str(js.document.visibilityState) == "hidden"


def perf_now():
    """``performance.now()``: milliseconds since the page started, a float."""
    need_browser()
    return float(js.performance.now())


MARK_PREFIX = "kaltura_web:"  # the SDK's performance marks: kaltura_web:start, :ready, :ks ...


def mark(phase):
    """``performance.mark("kaltura_web:" + phase)``: a start-up landmark the
    benchmark reads (``performance.getEntriesByType("mark")``).  Nothing
    happens outside a browser or where the page has no User Timing."""
    if not IN_BROWSER:
        return
    perf = getattr(js, "performance", None)
    if not is_nullish(perf) and not is_nullish(getattr(perf, "mark", None)):
        perf.mark(MARK_PREFIX + phase)


def local_storage():
    """``window.localStorage``, or None outside a browser or where it is
    missing; reading it may raise (SecurityError when storage is blocked)."""
    if not IN_BROWSER:
        return None
    storage = js.window.localStorage
    return None if is_nullish(storage) else storage


def storage_item(key):
    """The text localStorage keeps under ``key``, or None (missing, no
    storage, or storage blocked)."""
    try:
        storage = local_storage()
        value = None if storage is None else call_js(storage, "getItem", key)
    except JsException:
        return None
    return None if is_nullish(value) else str(value)


def storage_keys():
    """Every key of localStorage ([] when it is missing or blocked)."""
    try:
        storage = local_storage()
        if storage is None:
            return []
        keys = []
        for i in range(int(storage.length)):
            key = call_js(storage, "key", i)
            if not is_nullish(key):
                keys.append(str(key))
    except JsException:
        return []
    return keys


def set_storage_item(key, value):
    """``localStorage.setItem(key, value)`` (None: ``removeItem``); False
    when the storage is missing, blocked or full."""
    try:
        storage = local_storage()
        if storage is None:
            return False
        if value is None:
            call_js(storage, "removeItem", key)
        else:
            call_js(storage, "setItem", key, value)
    except JsException:
        return False
    return True


def privacy_signal():
    """True when the browser sends Global Privacy Control
    (``navigator.globalPrivacyControl === true``) or Do Not Track
    (``navigator.doNotTrack == "1"``)."""
    need_browser()
    navigator = js.navigator
    gpc = getattr(navigator, "globalPrivacyControl", None)
    dnt = getattr(navigator, "doNotTrack", None)
    return gpc is True or (not is_nullish(dnt) and str(dnt) == "1")


def web_locks():
    """``navigator.locks`` (the Web Locks API), or None where it is missing."""
    need_browser()
    locks = getattr(js.navigator, "locks", None)
    return None if is_nullish(locks) else locks


def fetch(url, options):
    """``fetch(url, options)`` with ``options`` a Python dict; returns the promise."""
    need_browser()
    return js.fetch(url, to_js(options))


def log(level, text):
    """``console[level](text)``."""
    need_browser()
    getattr(js.console, level)(text)


def dispatch(target, name, detail=None):
    """Dispatch a CustomEvent ``name`` (with ``detail``) on ``target``."""
    need_browser()
    options = {"detail": detail} if detail is not None else {}
    target.dispatchEvent(js.CustomEvent.new(name, to_js(options)))


def page_error(text, detail):
    """An error with no tracker to report to: the console, and ``kaltura-web:error``
    on window (on plain CPython: standard error)."""
    if not IN_BROWSER:
        print(text, file=sys.stderr)
        return
    js.console.error(text)
    dispatch(js.window, ERROR_EVENT, detail)


def pyscript_config(key):
    """PyScript's configuration entry ``key`` as a dict (empty outside PyScript)."""
    try:
        from pyscript import config  # PyScript only
    except ImportError:
        return {}
    data = config.get(key) if hasattr(config, "get") else None
    return dict(data) if isinstance(data, dict) else {}  # never dict() a JS object (MicroPython)


def now():
    """Unix seconds as a float (the tracker's clock)."""
    return float(time.time())


def now_ms():
    """Unix milliseconds as a float; use it instead of ``js.Date.now()``."""
    return now() * 1000.0


class _Bits:
    """``getrandbits`` for MicroPython, whose ``random`` has no ``Random``
    class: the module's generator seeded once from ``crypto.getRandomValues``."""

    def __init__(self):
        words = js.crypto.getRandomValues(js.Uint32Array.new(2))
        seed = (int(words[0]) & 0xFFFFFFFF) ^ (int(words[1]) << 16)
        seed ^= int(time.time() * 1000) ^ int(js.Math.random() * 1073741824)
        random.seed(seed & 0x3FFFFFFF)

    def getrandbits(self, k):
        if k <= 32:
            return random.getrandbits(k)
        out, have = 0, 0
        while have < k:
            n = min(32, k - have)
            out = (out << n) | random.getrandbits(n)
            have += n
        return out


if IS_MICROPYTHON:
    def make_rng():
        """An object with ``getrandbits`` for the tracker's ids."""
        need_browser()
        return _Bits()
else:
    def make_rng():
        """An object with ``getrandbits`` for the tracker's ids."""
        import os

        return random.Random(int.from_bytes(os.urandom(16), "big"))
