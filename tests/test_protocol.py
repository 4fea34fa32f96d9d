"""The stats.collect protocol: which player events become beacons, and what each beacon record holds."""

from kaltura_web.core.protocol import StatsCollectProtocol


class _Event:
    """What the protocol reads of a player event (session.Event has the same fields)."""

    def __init__(self, name, position=None, duration=None):
        self.name, self.session_id, self.t = name, "sess-1", 1_700_000_000.9
        self.position, self.duration = position, duration


CONTEXT = {"u": 55, "c": "v1", "r": None}


def records(name, **fields):
    ids = iter(["b1", "b2"])
    return StatsCollectProtocol().records(_Event(name, **fields), "1_abc", 4242, CONTEXT, lambda: next(ids))


def test_the_protocol_is_named_after_its_kaltura_action():
    """The protocol says which Kaltura action it speaks: stats.collect."""
    assert StatsCollectProtocol.name == "stats.collect"


def test_a_seek_is_one_stats_record_with_the_seek_flag():
    """SEEK becomes one type-17 record carrying seek, the position in whole seconds and the session fields."""
    assert records("SEEK", position=12.7, duration=99.6) == [
        {"i": "b1", "k": "s", "p": 4242, "n": "1_abc", "e": 17, "s": "sess-1", "t": 1_700_000_000, "u": 55,
         "c": "v1", "cp": 12, "d": 100, "sk": 1}]


def test_other_events_carry_no_seek_flag():
    """PLAY becomes a type-3 record without the seek field."""
    (record,) = records("PLAY", position=0.0)
    assert record["e"] == 3 and "sk" not in record and record["cp"] == 0


def test_hook_only_events_make_no_record():
    """PAUSE and other hook-only events give no record (and draw no id)."""
    assert records("PAUSE", position=3.0) == [] and records("NO_SUCH_EVENT") == []
