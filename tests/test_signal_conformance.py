"""What every signal type must do, as one class each signal's tests subclass.

A new hash joins the project with one module in ``safeguard/signals`` and one
subclass here: its values print and parse back unchanged, its distance is a
distance (zero to itself, symmetric where the signal is, within its range), it
declares what it is computed from and which index serves it, and where a
reference implementation published vectors, it reproduces them.
"""

from __future__ import annotations

import random

import pytest

from safeguard.errors import UsageError
from safeguard.signals import MD5, PDQ, SHA1, SHA256, SIGNAL_TYPES, VPDQ, IndexKind, Needs
from safeguard.signals.base import RasterSignal, SignalType, StreamSignal
from safeguard.signals.vpdq import FrameHash, reference_text

from conftest import require_shared


class SignalConformance:
    signal: SignalType
    needs: Needs
    index: IndexKind
    symmetric = True

    def values(self, count: int) -> list[bytes]:
        draw = random.Random(self.signal.name)
        return [draw.randbytes(self.signal.size_bytes) for _ in range(count)]

    def reference_vectors(self) -> list[tuple[bytes, str]]:
        """(input, expected text) pairs a reference implementation published."""
        return []

    def compute(self, data: bytes) -> bytes:
        raise NotImplementedError

    def test_declares_what_it_needs_and_which_index_serves_it(self):
        assert (self.signal.needs, self.signal.index) == (self.needs, self.index)
        assert self.signal.name and self.signal.default_threshold >= 0

    def test_text_round_trips(self):
        for value in self.values(20):
            text = self.signal.to_text(value)
            assert self.signal.parse(text) == value
            assert self.signal.parse(f"  {text.upper()}\n") == value

    def test_garbage_is_refused_with_a_reason(self):
        for text in ("", "zz", "0" * 7, "not a hash at all"):
            with pytest.raises(UsageError):
                self.signal.parse(text)

    def test_distance_is_zero_to_itself_and_symmetric(self):
        values = self.values(6)
        for a in values:
            assert self.signal.distance(a, a) == 0
            for b in values:
                if self.symmetric:
                    assert self.signal.distance(a, b) == self.signal.distance(b, a)
                assert self.signal.distance(a, b) >= 0

    def test_reference_vectors(self):
        for data, expected in self.reference_vectors():
            assert self.signal.to_text(self.compute(data)) == expected


class StreamConformance(SignalConformance):
    needs, index = Needs.BYTES, IndexKind.EXACT

    def compute(self, data: bytes) -> bytes:
        assert isinstance(self.signal, StreamSignal)
        hasher = self.signal.new_hasher()
        hasher.update(data)
        return hasher.digest()

    published: tuple[str, str]  # of the empty string and of "abc" (RFC 1321, FIPS 180)

    def reference_vectors(self):
        return list(zip((b"", b"abc"), self.published, strict=True))


class TestMd5(StreamConformance):
    signal = MD5
    published = ("d41d8cd98f00b204e9800998ecf8427e", "900150983cd24fb0d6963f7d28e17f72")


class TestSha1(StreamConformance):
    signal = SHA1
    published = (
        "da39a3ee5e6b4b0d3255bfef95601890afd80709",
        "a9993e364706816aba3e25717850c26c9cd0d89d",
    )


class TestSha256(StreamConformance):
    signal = SHA256
    published = (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    )


class TestPdq(SignalConformance):
    signal = PDQ
    needs, index = Needs.PIXELS, IndexKind.HAMMING

    def test_distance_counts_differing_bits(self):
        value = self.values(1)[0]
        flipped = bytes([value[0] ^ 0b1011]) + value[1:]
        assert PDQ.distance(value, flipped) == 3 and isinstance(PDQ, RasterSignal)

    def test_reference_vectors(self):
        # The reference's own hashes of its test photos: see tests/test_pdq_reference.py for
        # all 49; one here keeps the class complete.
        require_shared("pdq-reference", "expected", "pdq-cpp-reference.csv")
        expected = "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22"
        assert PDQ.to_text(PDQ.parse(expected)) == expected


class TestVpdq(SignalConformance):
    signal = VPDQ
    needs, index = Needs.FRAMES, IndexKind.FRAME_BAG
    symmetric = False  # the share of the *query's* frames that found a partner

    def values(self, count: int) -> list[bytes]:
        draw = random.Random("vpdq")
        return [
            VPDQ.encode([
                FrameHash(n * 30, draw.randint(50, 100), draw.randbytes(32), n * 1.0)
                for n in range(draw.randint(1, 12))
            ])
            for _ in range(count)
        ]  # fmt: skip

    def test_reference_vectors(self):
        sample = require_shared("pdq-reference", "upstream", "vpdq", "sample-hashes",
                                "chair-20-sd-bar.txt")  # fmt: skip
        text = sample.read_text()
        assert reference_text(VPDQ.parse(text)) == text  # the reference's own file, unchanged
        assert VPDQ.to_text(VPDQ.parse(text)) == text.strip().replace("\n", ";")


def test_every_registered_signal_has_a_conformance_class():
    classes, covered = list(SignalConformance.__subclasses__()), set()
    while classes:
        cls = classes.pop()
        classes += cls.__subclasses__()
        if "signal" in vars(cls):
            covered.add(cls.signal.name)
    assert {*SIGNAL_TYPES, VPDQ.name} <= covered
