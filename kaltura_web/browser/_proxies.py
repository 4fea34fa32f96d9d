"""Python callables handed to JS, each with an owner that takes it back.

A listener or a timer callback is a *proxy*: the JS function that calls the
Python one.  Every proxy the SDK makes comes from a ``ProxyOwner``, runs
under the guard (``_guard.guard``: the SDK's own exceptions become
``sdk-error`` diagnostics of the owner's tracker), and is destroyed by its
owner's ``destroy()``, or by itself when it is a once-callable that ran.
``live_proxies()`` counts proxies made and not destroyed yet (the leak test
reads it: 1,000 attach/detach cycles leave it where it was).

========================  =================================  ==========================================
                          Pyodide                            MicroPython 1.28
========================  =================================  ==========================================
proxy                     ``pyodide.ffi.create_proxy``;      JS frees converted callables only by GC;
                          ``destroy()`` frees it             JS gets a trampoline that ``destroy()``
                                                             disarms (a stale reference calls nothing,
                                                             the closure is freed at once)
once-callable             ``create_once_callable``: freed    the same trampoline, disarmed when called
                          by Pyodide after its call
========================  =================================  ==========================================

On plain CPython the trampoline itself is the "JS function" (fake targets in tests).
"""

from . import _guard
from ._runtime import jsffi, pyffi

_live = [0]  # proxies made here and not destroyed yet


def live_proxies():
    """How many proxies made through a ``ProxyOwner`` are still alive."""
    return _live[0]


if pyffi is not None:
    _ONCE_FREES_ITSELF = True

    def _make(fn, once):
        """(the JS function, how to destroy it)"""
        p = pyffi.create_once_callable(fn) if once else pyffi.create_proxy(fn)
        return p, p.destroy

else:
    _ONCE_FREES_ITSELF = False

    def _make(fn, once):
        """(the JS function, how to destroy it): a trampoline that calls ``fn``
        until disarmed.  MicroPython converts the same callable to the same JS
        function every time, so removeEventListener finds it."""
        cell = [fn]

        def trampoline(*args):
            target = cell[0]
            if target is None:
                return None  # destroyed: a stale JS reference does nothing
            return target(*args)

        def disarm():
            cell[0] = None

        return (jsffi.create_proxy(trampoline) if jsffi is not None else trampoline), disarm


class Proxy:
    """One proxy: ``function`` is what JS gets; ``release()`` destroys it."""

    def __init__(self, owner, fn, once):
        self._owner = owner
        self.alive = True
        if once:
            def call(*args):
                self._spent()
                return fn(*args)

            self.function, self._destroy = _make(call, True)
        else:
            self.function, self._destroy = _make(fn, False)
        _live[0] += 1

    def _spent(self):
        """A once-callable is being called: JS will not call it again."""
        if self.alive:
            self._forget()
            if not _ONCE_FREES_ITSELF:
                self._destroy()

    def release(self):
        """Destroy the proxy (no effect when it is gone already)."""
        if self.alive:
            self._forget()
            self._destroy()

    def _forget(self):
        self.alive = False
        _live[0] -= 1
        self._owner._proxies.pop(self, None)


class ProxyOwner:
    """Makes proxies and event listeners and destroys them all on ``destroy()``.

    ``tracker`` receives the guard's diagnostics (None: the console and
    ``kaltura-web:error``); ``name`` says whose callbacks these are in them."""

    def __init__(self, tracker=None, name="browser"):
        self.tracker = tracker
        self.name = name
        self._proxies = {}  # Proxy -> True (a dict: O(1) forgetting)
        self._listeners = []  # (target, event name, JS function)

    def _new(self, fn, where, once):
        guarded = _guard.guard(fn, self.tracker, where or self.name + " callback")
        proxy = Proxy(self, guarded, once)
        self._proxies[proxy] = True
        return proxy

    def proxy(self, fn, where=None):
        """A JS function calling ``fn`` under the guard, alive until ``destroy()``."""
        return self._new(fn, where, False).function

    def once(self, fn, where=None):
        """A JS function calling ``fn`` under the guard at most once, released
        when called.  Returns its ``Proxy`` (``.function`` for JS,
        ``.release()`` to take it back uncalled)."""
        return self._new(fn, where, True)

    def listen(self, target, name, fn, where=None):
        """``target.addEventListener(name, ...)`` calling ``fn(event)`` under the guard."""
        function = self.proxy(fn, where or "%s %s handler" % (self.name, name))
        target.addEventListener(name, function)
        self._listeners.append((target, name, function))
        return function

    def listens(self, name):
        """True when this owner listens to events called ``name``."""
        return any(n == name for _target, n, _function in self._listeners)

    def destroy(self):
        """Remove every listener, then destroy every proxy (idempotent)."""
        listeners, self._listeners = self._listeners, []
        for target, name, function in listeners:
            target.removeEventListener(name, function)
        for proxy in list(self._proxies):
            proxy.release()

    def __len__(self):
        return len(self._proxies)

    @property
    def proxies(self):
        """The live proxies' JS functions."""
        return [p.function for p in self._proxies]
