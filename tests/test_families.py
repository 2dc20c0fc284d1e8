"""Near-duplicate families of unknown pictures, as the report groups them for review."""

import random

from safeguard.triage.families import UnknownPictures


def _flipped(code: bytes, bits: list[int]) -> bytes:
    value = bytearray(code)
    for bit in bits:
        value[bit // 8] ^= 1 << (bit % 8)
    return bytes(value)


def test_copies_and_near_duplicates_are_one_family_transitively_and_flat_pictures_only_by_bytes():
    draw = random.Random(7)
    base, other = draw.randbytes(32), draw.randbytes(32)
    pictures = UnknownPictures()
    pictures.add(10, b"a" * 32, base, 100)  # family 1
    pictures.add(11, b"b" * 32, other, 100)  # family 2: far from every other code
    pictures.add(12, b"c" * 32, _flipped(base, list(range(0, 30))), 100)  # 30 bits from 10
    # 30 bits from 12 and 60 from 10: joins family 1 only through 12 (transitively).
    pictures.add(13, b"d" * 32, _flipped(base, list(range(0, 30)) + list(range(100, 130))), 90)
    pictures.add(14, b"b" * 32, draw.randbytes(32), 100)  # same bytes as 11
    pictures.add(15, b"e" * 32, base, 10)  # same PDQ as 10 but too flat to trust: alone
    pictures.add(16, b"e" * 32, draw.randbytes(32), 10)  # same bytes as 15
    pictures.add(17, None, base[::-1], 100)  # no digest: never joined by bytes
    pictures.add(18, None, other[::-1], 100)
    families = pictures.families()
    assert len(families) == 5
    assert families.first(10) == [[10, 12, 13], [11, 14], [15, 16], [17], [18]]
    assert families.first(2) == [[10, 12, 13], [11, 14]]


def test_no_unknown_pictures_is_no_family():
    families = UnknownPictures().families()
    assert len(families) == 0 and families.first(500) == []


def test_a_hundred_thousand_pictures_are_held_in_packed_arrays():
    pictures = UnknownPictures()
    draw = random.Random(1)
    for seq in range(100_000):
        pictures.add(seq, draw.randbytes(32), draw.randbytes(32), 100)
    families = pictures.families()
    assert len(families) == 100_000 and families.seqs.nbytes == 800_000
    assert families.first(3) == [[0], [1], [2]]
