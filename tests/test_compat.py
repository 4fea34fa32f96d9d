"""The MicroPython shim: its helpers behave as their CPython counterparts would."""

import random
import re
import urllib.parse
import uuid

from hypothesis import given, settings, strategies as st

from kaltura_web.core import _compat


def test_uuid4_is_a_valid_version_4_uuid_drawn_from_the_rng():
    """The layout, version nibble and variant bits are right, and the same rng state gives the same id."""
    for seed in range(50):
        value = _compat.uuid4(random.Random(seed))
        assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", value)
        parsed = uuid.UUID(value)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
        assert _compat.uuid4(random.Random(seed)) == value
    assert _compat.uuid4(random.Random(1)) != _compat.uuid4(random.Random(2))


def test_uuid4_keeps_every_random_bit_it_does_not_fix():
    """All 122 free bits come from the rng: all-ones and all-zeros words give the extreme ids."""
    class Const:
        def __init__(self, word):
            self.word = word

        def getrandbits(self, bits):
            return self.word

    assert _compat.uuid4(Const(0xFFFFFFFF)) == "ffffffff-ffff-4fff-bfff-ffffffffffff"
    assert _compat.uuid4(Const(0)) == "00000000-0000-4000-8000-000000000000"


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.lists(st.tuples(st.text(), st.text()), max_size=5))
def test_urlencode_matches_the_standard_library(pairs):
    """Form encoding equals urllib's quote_plus encoding for any text (spaces as '+', UTF-8 bytes)."""
    encodable = [(k, v) for k, v in pairs
                 if not any(0xD800 <= ord(c) <= 0xDFFF for c in k + v)]
    assert _compat.urlencode(encodable) == urllib.parse.urlencode(encodable, quote_via=urllib.parse.quote_plus,
                                                                  safe="~")


def test_number_predicates_exclude_booleans_and_non_finite_values():
    """is_int/is_number refuse bools; is_finite refuses NaN and both infinities; is_nan only NaN."""
    assert _compat.is_int(3) and not _compat.is_int(True) and not _compat.is_int(3.0)
    assert _compat.is_number(3) and _compat.is_number(3.5) and not _compat.is_number(False)
    assert not _compat.is_number("3")
    nan, inf = float("nan"), float("inf")
    assert [_compat.is_finite(v) for v in (0.0, -1e308, 1e308, nan, inf, -inf)] == [True, True, True, False,
                                                                                    False, False]
    assert _compat.is_nan(nan) and not _compat.is_nan(inf) and not _compat.is_nan(0.0)


def test_uuid4_is_the_standard_uuid_of_exactly_four_drawn_words():
    """uuid4 equals uuid.UUID(version=4) built from the rng's next four 32-bit words, and draws no more."""
    for seed in (3, 11, 2024):
        reference = random.Random(seed)
        words = [reference.getrandbits(32) for _ in range(4)]
        expected = str(uuid.UUID(int=(words[0] << 96) | (words[1] << 64) | (words[2] << 32) | words[3], version=4))
        rng = random.Random(seed)
        assert _compat.uuid4(rng) == expected
        assert rng.getstate() == reference.getstate()


def test_is_micropython_is_false_on_cpython():
    """The runtime flag the browser edge reads says CPython here."""
    assert _compat.IS_MICROPYTHON is False
