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


def is_live_duration(duration) -> bool:
    """Unknown, zero, NaN or infinite durations mean live (no quartiles)."""
    return duration is None or not is_finite(duration) or duration <= 0


def natural_reach(elapsed, rate):
    """How far natural playback may move the playhead in ``elapsed`` seconds."""
    return elapsed * max(rate, 1.0) * NATURAL_FACTOR + NATURAL_SLACK


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
