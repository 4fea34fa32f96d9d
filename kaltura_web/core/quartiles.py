"""Content quartiles of one playback session (pure).

Two rules, chosen per tracker:

* ``GUIDE`` (the default, the guide's rule): a quartile fires once, and only
  when natural forward playback crosses its point: a seek, or a playhead jump
  faster than playback can explain, moves the starting point without firing
  what lies between.
* ``KAVA`` (Player v7's rule, opt-in): a quartile fires once the playhead's
  share of the duration, rounded to two decimals, reaches its point, however
  the playhead got there (a seek past 50% fires 25% and 50%); 100% needs the
  share to round to 1.
"""

from ._compat import is_finite

GUIDE = "guide"
KAVA = "kava"
RULES = (GUIDE, KAVA)

# 90% is Player v7's (KAVA 15); stats.collect has no type for it (it goes to the hook only)
QUARTILES = ((0.25, "PLAY_REACHED_25"), (0.5, "PLAY_REACHED_50"), (0.75, "PLAY_REACHED_75"),
             (0.9, "PLAY_REACHED_90"), (1.0, "PLAY_REACHED_100"))

# Forward playback counts as natural when the playhead moved no further than
# the elapsed time allows (at the playback rate, never less than 1x, times this
# factor) plus this slack in seconds.
NATURAL_FACTOR = 1.5
NATURAL_SLACK = 1.0

# A position this close below a quartile's point has reached it (float rounding
# of ``duration * fraction``).
ROUNDING = 1e-9

# The timeupdate gate (``Player.quiet_window``, ``is_quiet``): under the KAVA
# rule a position whose share of the duration is this far below a quartile's
# fraction cannot round up to it (two decimals round by at most 0.005).
KAVA_SHARE_MARGIN = 0.006


def is_live_duration(duration) -> bool:
    """Unknown, zero, NaN or infinite durations mean live (no quartiles)."""
    return duration is None or not is_finite(duration) or duration <= 0


def natural_reach(elapsed, rate):
    """How far natural playback may move the playhead in ``elapsed`` seconds."""
    return elapsed * max(rate, 1.0) * NATURAL_FACTOR + NATURAL_SLACK


# A played range (a media element's ``played`` TimeRanges) that begins this
# close to 0 begins at the start of the media: it proves natural playback up to
# its end (a seek can only open a range elsewhere).
FROM_START = 0.25


def proven_end(ranges):
    """Where natural playback from the start of the media has certainly been:
    the end of the played range ``[start, end]`` in ``ranges`` that begins at 0,
    or None when none does (or a range is NaN)."""
    best = None
    for start, end in ranges:
        if is_finite(start) and is_finite(end) and 0 <= start <= FROM_START and end >= start:
            if best is None or end > best:
                best = end
    return best


def is_quiet(window, last_p, last_t, p, t):
    """The timeupdate gate's rule (the browser's JavaScript gate computes the
    same, operation for operation): True when a timeupdate at position ``p``
    and time ``t`` carries no news and may be held back.

    ``window`` is ``Player.quiet_window()``: (p0, t0, speed, limit, rounding,
    until), the position and time Python last saw, ``max(rate, 1)``, the
    position that could reach the next quartile, and the time a KAVA VIEW or
    reset falls due.  ``last_p``/``last_t``: the previous timeupdate seen
    (held back or not; p0/t0 when none was).  Quiet means: time and playhead
    did not go back, no quartile is reached, nothing is due, and the move is
    natural playback both from the previous timeupdate and from p0 (so the
    session would count it as natural, step by step or in one)."""
    p0, t0, speed, limit, rounding, until = window
    return (t >= last_t and p >= last_p and p + rounding < limit and t < until
            and p - last_p <= (t - last_t) * speed * NATURAL_FACTOR + NATURAL_SLACK
            and p - p0 <= (t - t0) * speed * NATURAL_FACTOR + NATURAL_SLACK)


class Quartiles:
    """The quartiles fired so far and where natural playback last was.

    Times passed in never go backwards (the session clamps them)."""

    def __init__(self, rule=GUIDE):
        self.rule = rule
        self.fired = []
        self.start = None  # (position, t) last reached by natural playback or a seek

    def jump(self, position, t, duration=None):
        """The playhead moved by a seek.  Guide rule: no quartile between old
        and new (returns []); KAVA rule: the names of those now reached."""
        self.start = (position, t)
        if self.rule == KAVA:
            return self._reached(position, duration)
        return []

    def _reached(self, position, duration):
        """KAVA rule: quartiles not yet fired whose point the rounded share reaches."""
        if is_live_duration(duration):
            return []
        share = round(position / duration, 2)
        crossed = []
        for fraction, name in QUARTILES:
            if share >= fraction and name not in self.fired:
                self.fired.append(name)
                crossed.append(name)
        return crossed

    def quiet_limit(self, position, duration):
        """(limit, rounding): natural playback from ``position`` reaches no new
        quartile while ``p + rounding < limit`` (limit None: no quartile can
        fire, a live or unknown duration or all fired).  Under the KAVA rule the
        limit keeps a margin below the rounded share."""
        if is_live_duration(duration):
            return None, 0.0
        if self.rule == KAVA:
            for fraction, name in QUARTILES:
                if name not in self.fired:
                    return duration * (fraction - KAVA_SHARE_MARGIN), 0.0
            return None, 0.0
        for fraction, name in QUARTILES:
            point = duration * fraction
            if point > position and name not in self.fired:
                return point, ROUNDING
        return None, ROUNDING

    def proven(self, end, duration):
        """The quartiles not yet fired that natural playback from the start up
        to ``end`` reached (``proven_end``), judged by this tracker's rule as if
        the playhead had got there by playing; the playhead itself stays."""
        if is_live_duration(duration):
            return []
        if self.rule == KAVA:
            return self._reached(min(end, duration), duration)
        reached = end + ROUNDING
        crossed = []
        for fraction, name in QUARTILES:
            if duration * fraction <= reached and name not in self.fired:
                self.fired.append(name)
                crossed.append(name)
        return crossed

    def advance(self, position, t, rate, duration):
        """Names of the quartiles crossed moving to ``position`` at ``t``;
        None when the move is a forward jump natural playback cannot explain.
        A backwards move crosses nothing."""
        if self.rule == KAVA:
            return self.jump(position, t, duration)
        if self.start is None or is_live_duration(duration):
            self.jump(position, t)
            return []
        last, last_t = self.start
        self.jump(position, t)
        if position - last > natural_reach(t - last_t, rate):
            return None
        reached = position + ROUNDING
        crossed = []
        for fraction, name in QUARTILES:
            if last < duration * fraction <= reached and name not in self.fired:
                self.fired.append(name)
                crossed.append(name)
        return crossed
