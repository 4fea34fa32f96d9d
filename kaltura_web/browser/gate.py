"""The timeupdate gate: a few lines of JavaScript on the element that keep
the ``timeupdate`` events without news out of Python.

A playing element fires ``timeupdate`` about four times a second and almost
none of them changes what the SDK reports.  Python stays the one that
decides: after each ``timeupdate`` that reaches it, it asks the core what
would be news (``Player.quiet_window()``: the position that reaches the next
quartile, the natural-playback reach at the playback rate, the time the next
KAVA VIEW or reset falls due) and hands that window to the gate.  The gate
then holds back the ``timeupdate``s inside it (the core's rule
``quartiles.is_quiet``, computed the same way, operation for operation) and
forwards the first one outside it, with the last one it held back: Python
feeds that one first, so the session sees the playhead exactly where it
would have.  Any other observation of the Player first takes the held one
back and closes the window (``Player.catch_up``); the next ``timeupdate``
then reaches Python and reopens it.  The events and records are therefore
exactly those of every ``timeupdate`` (tests/test_gate.py proves it on the
core).

The gate's clock is the one Python's ``time.time()`` reads (``Date.now()``,
divided as each runtime divides it), so a time the gate stamps equals the
time Python would have read.  The gate object is on the element as
``element[Symbol.for("kaltura_web:gate")]`` with its counters ``seen`` and
``forwarded`` (tests and benchmarks read them).
"""

from ..core.quartiles import NATURAL_FACTOR, NATURAL_SLACK
from . import csp
from ._runtime import IN_BROWSER, IS_MICROPYTHON, js

GATE_KEY = "kaltura_web:gate"  # Symbol.for(GATE_KEY) on the element holds the gate

# the clock as each runtime's time.time() computes it from Date.now() (bit for bit).  A whole
# second crosses into MicroPython as an int32 (fine until 2038, as time.time() itself).
CLOCKS_JS = {True: "Date.now() / 1000", False: "Date.now() * 1e6 / 1e9"}  # MicroPython, Pyodide
CLOCK_JS = CLOCKS_JS[IS_MICROPYTHON]

# quartiles.is_quiet in JavaScript: g holds the window and the previous timeupdate seen
QUIET_JS = """function (g, p, t) {
  return t >= g.lastT && p >= g.lastP && p + g.rounding < g.limit && t < g.until
    && p - g.lastP <= (t - g.lastT) * g.speed * %(factor)r + %(slack)r
    && p - g.p0 <= (t - g.t0) * g.speed * %(factor)r + %(slack)r;
}""" % {"factor": NATURAL_FACTOR, "slack": NATURAL_SLACK}

# (element, forward(p, t, held, heldT)) -> the gate; forward gets held = -1 when none was held
FACTORY_TEMPLATE = """(function () {
  var quiet = %(quiet)s;
  return function (el, forward) {
    var g = {open: false, p0: 0, t0: 0, lastP: 0, lastT: 0, speed: 1, limit: 0, rounding: 0,
             until: 0, held: false, seen: 0, forwarded: 0};
    function onTimeupdate() {
      var p = el.currentTime, t = %(clock)s;
      g.seen++;
      if (g.open && quiet(g, p, t)) { g.lastP = p; g.lastT = t; g.held = true; return; }
      g.forwarded++;
      g.open = false;
      var held = g.held ? g.lastP : -1;
      g.held = false;
      forward(p, t, held, g.lastT);
    }
    g.set = function (p0, t0, speed, limit, rounding, until) {
      g.p0 = g.lastP = p0; g.t0 = g.lastT = t0; g.speed = speed; g.limit = limit;
      g.rounding = rounding; g.until = until; g.held = false; g.open = true;
    };
    g.take = function () {  /* close; the position held back (its time: lastT) or -1 */
      g.open = false;
      if (!g.held) return -1;
      g.held = false;
      return g.lastP;
    };
    g.remove = function () {
      g.open = false;
      el.removeEventListener("timeupdate", onTimeupdate);
      if (el[Symbol.for(%(key)r)] === g) delete el[Symbol.for(%(key)r)];
    };
    el.addEventListener("timeupdate", onTimeupdate);
    el[Symbol.for(%(key)r)] = g;
    return g;
  };
})()"""


def _factory_js(clock):
    return FACTORY_TEMPLATE % {"quiet": QUIET_JS, "clock": clock, "key": GATE_KEY}


FACTORY_JS = _factory_js(CLOCK_JS)
JS_SOURCES = tuple(_factory_js(clock) for clock in CLOCKS_JS.values())  # csp.py

_factory = [None]


def _make(video, forward):
    """The JS gate on ``video`` (the factory is evaluated once per page)."""
    if _factory[0] is None:
        _factory[0] = csp.js_value(FACTORY_JS)
    return _factory[0](video, forward)


class TimeupdateGate:
    """The gate on one element for one Player (``Attachment`` makes it).

    ``forward`` is the JS function the gate calls with what it forwards: a
    proxy of the attachment's ``ProxyOwner`` that ends in ``forwarded``;
    ``remove()`` hands the held timeupdate over and takes the JS listener
    off (the owner destroys the proxy)."""

    def __init__(self, video, player, forward):
        self.player = player
        self.open = False  # a window is set in JS: a timeupdate may be held there
        self.js = _make(video, forward)
        self._hook = self.catch_up  # one bound method, so that ``remove`` recognises it
        player.catch_up = self._hook

    def forwarded(self, p, t, held, held_t):
        """A timeupdate outside the window (JS closed it): feed the one held
        back first, then this one, and set the next window."""
        self.open = False
        player = self.player
        if held >= 0:
            player.progress(float(held), t=float(held_t))
        player.progress(float(p), t=float(t))
        window = player.quiet_window()
        if window is not None:
            self.js.set(*window)
            self.open = True

    def catch_up(self):
        """Before any other observation of the Player: close the window and
        feed the timeupdate held back, if any."""
        if self.open:
            self.open = False
            held = self.js.take()
            if held >= 0:
                self.player.progress(float(held), t=float(self.js.lastT))

    def counts(self):
        """(timeupdates the element fired, timeupdates that reached Python)."""
        return int(self.js.seen), int(self.js.forwarded)

    def remove(self):
        """Hand over what is held, take the JS listener off and let go of the Player."""
        self.catch_up()
        self.js.remove()
        if self.player.catch_up is self._hook:
            self.player.catch_up = None


def available():
    """True where a JS gate can be made (a browser runtime)."""
    return IN_BROWSER
