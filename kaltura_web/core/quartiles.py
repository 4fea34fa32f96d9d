"""Content quartiles of one playback session (pure).

A quartile fires once, and only when natural forward playback crosses its
point: a seek, or a playhead jump faster than playback can explain, moves the
starting point without firing what lies between.
"""

from ._compat import is_finite

QUARTILES = ((0.25, "PLAY_REACHED_25"), (0.5, "PLAY_REACHED_50"), (0.75, "PLAY_REACHED_75"),
             (1.0, "PLAY_REACHED_100"))

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

    def __init__(self):
        self.fired = []
        self.start = None  # (position, t) last reached by natural playback or a seek

    def jump(self, position, t):
        """The playhead moved by a seek: no quartile between old and new."""
        self.start = (position, t)

    def advance(self, position, t, rate, duration):
        """Names of the quartiles crossed moving to ``position`` at ``t``;
        None when the move is a forward jump natural playback cannot explain.
        A backwards move crosses nothing."""
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
