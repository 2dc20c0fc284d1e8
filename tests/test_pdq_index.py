"""The PDQ radius index: identical to brute force, incremental, persistent; and matching."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safeguard.index.hamming import HammingIndex
from safeguard.index.joins import join_pairs, join_within, roots
from safeguard.index.mih import NARROW, WIDE, MultiIndex, as_words
from safeguard.matching import Matcher
from safeguard.signals import PDQ, hamming
from safeguard.signals.extract import HashOptions, hash_file
from safeguard.store import ListKind, ListSpec, NewEntry, Scheme, Thresholds


def _flip(code: bytes, bits: int, rng: np.random.Generator) -> bytes:
    unpacked = np.unpackbits(np.frombuffer(code, np.uint8))
    unpacked[rng.choice(256, bits, replace=False)] ^= 1
    return np.packbits(unpacked).tobytes()


def _brute(codes: list[bytes], ids, query: bytes, radius: int) -> dict[int, int]:
    return {
        int(i): d for i, c in zip(ids, codes, strict=True) if (d := hamming(c, query)) <= radius
    }


@st.composite
def code_sets(draw):
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    clustered = draw(st.booleans())
    count = draw(st.integers(0, 3000))
    if clustered:  # a few photos and many near copies: buckets as uneven as real data
        centres = [rng.bytes(32) for _ in range(max(1, count // 300))]
        codes = [
            _flip(centres[rng.integers(len(centres))], int(rng.integers(0, 40)), rng)
            for _ in range(count)
        ]
    else:
        codes = [rng.bytes(32) for _ in range(count)]
    queries = (
        [_flip(codes[rng.integers(count)], int(rng.integers(0, 48)), rng) for _ in range(5)]
        if codes
        else []
    )
    queries += [rng.bytes(32)]
    radius = draw(st.sampled_from([0, 1, 11, 12, 15, 16, 23, 24, 31, 32, 47, 48, 70]))
    return codes, queries, radius, draw(st.sampled_from([NARROW, WIDE]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(code_sets())
@pytest.mark.slow
def test_index_equals_brute_force(case):
    codes, queries, radius, widths = case
    ids = np.arange(len(codes), dtype=np.int64) * 7 + 3
    matrix = np.frombuffer(b"".join(codes), np.uint8).reshape(-1, 32)
    index = MultiIndex.build(matrix, ids, widths)
    for query in queries:
        found_ids, distances = index.search(as_words(np.frombuffer(query, np.uint8))[0], radius)
        assert dict(zip(found_ids.tolist(), distances.tolist(), strict=True)) == _brute(
            codes, ids, query, radius
        )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(code_sets())
@pytest.mark.slow
def test_a_self_join_puts_codes_within_the_radius_in_one_component_transitively(case):
    codes, _, radius, widths = case
    codes = codes[:600]  # brute force is quadratic
    ids = np.arange(len(codes), dtype=np.int64)[::-1]  # ids need not follow positions
    matrix = np.frombuffer(b"".join(codes), np.uint8).reshape(-1, 32)
    parent = np.arange(len(codes))
    join_within(MultiIndex.build(matrix, ids, widths), radius, parent)
    expected = np.arange(len(codes))
    for a in range(len(codes)):
        for b in range(a + 1, len(codes)):
            if hamming(codes[a], codes[b]) <= radius:
                join_pairs(expected, np.array([ids[a]]), np.array([ids[b]]))
    assert _partition(roots(parent)) == _partition(roots(expected))


def _partition(labels: np.ndarray) -> set[frozenset[int]]:
    groups: dict[int, set[int]] = {}
    for member, label in enumerate(labels.tolist()):
        groups.setdefault(label, set()).add(member)
    return {frozenset(group) for group in groups.values()}


def _pdq_rows(values, category="A"):
    return [NewEntry("pdq", v, category, record=i + 1) for i, v in enumerate(values)]


def test_additions_are_visible_to_the_next_query_without_rebuild(store, tmp_path):
    rng = np.random.default_rng(5)
    base = [rng.bytes(32) for _ in range(500)]
    store.import_entries("caid", _pdq_rows(base), spec=ListSpec())
    index = HammingIndex(store, tmp_path / "idx")
    assert len(index.main) == 500 and index.tail_size == 0

    fresh = rng.bytes(32)
    store.import_entries("caid", _pdq_rows([fresh]), spec=ListSpec())
    found = index.search([_flip(fresh, 5, rng)], 31)
    assert list(found.values()) == [5]
    assert len(index.main) == 500 and index.tail_size == 1  # no rebuild happened

    reopened = HammingIndex(store, tmp_path / "idx")  # loads the saved main, catches up the tail
    assert (len(reopened.main), reopened.tail_size) == (500, 1)
    assert reopened.search([fresh], 0) == dict.fromkeys(found, 0)


def test_tail_is_merged_into_a_new_main_when_it_grows(store, tmp_path):
    rng = np.random.default_rng(6)
    store.import_entries("caid", _pdq_rows([rng.bytes(32) for _ in range(50)]), spec=ListSpec())
    index = HammingIndex(store, tmp_path / "idx", merge_minimum=10, merge_fraction=0.1)
    extra = [rng.bytes(32) for _ in range(20)]
    store.import_entries("caid", _pdq_rows(extra), spec=ListSpec())
    index.refresh()
    assert (len(index.main), index.tail_size) == (70, 0)
    assert len(index.search(extra, 0)) == 20


def test_an_index_from_another_store_is_rebuilt(store_url, tmp_path):
    from safeguard.store import Store

    first = Store.open(store_url)
    first.import_entries("caid", _pdq_rows([os.urandom(32)]), spec=ListSpec())
    HammingIndex(first, tmp_path / "idx")
    other = Store.open(str(tmp_path / "other.db"))
    assert len(HammingIndex(other, tmp_path / "idx")) == 0


def test_per_list_thresholds_and_disabled_entries(store):
    rng = np.random.default_rng(7)
    target = rng.bytes(32)
    strict = ListSpec(scheme=Scheme.UK, thresholds={"pdq": Thresholds(10)})
    store.import_entries("strict", _pdq_rows([target], "A"), spec=strict)
    store.import_entries(
        "loose", _pdq_rows([target], "B"), spec=ListSpec(thresholds={"pdq": Thresholds(40)})
    )
    store.import_entries("default", _pdq_rows([target], "C"), spec=ListSpec())
    matcher = Matcher(store)

    def hits(bits):
        result = matcher.match_hashes([("pdq", _flip(target, bits, rng))])
        return sorted((m.list, m.distance) for m in result.alerts)

    assert hits(8) == [("default", 8), ("loose", 8), ("strict", 8)]
    assert hits(20) == [("default", 20), ("loose", 20)]
    assert hits(36) == [("loose", 36)]
    store.set_list_enabled("loose", False)
    assert hits(36) == []
    entry = store.lookup("pdq", [target])
    default_entry = next(h.entry_id for h in entry if h.list_name == "default")
    store.disable_entry("default", default_entry)
    assert hits(8) == [("strict", 8)]


def test_known_good_lists_never_alert(store, tmp_path, photo):
    hashes = hash_file(str(photo), HashOptions())
    spec = ListSpec(kind=ListKind.KNOWN_GOOD)
    store.import_entries("nsrl", [NewEntry("sha1", hashes.values["sha1"], record=1)], spec=spec)
    result = Matcher(store).match_file(hashes)
    assert result.alerts == [] and [m.list for m in result.known_good] == ["nsrl"]


def test_dihedral_matching_finds_rotated_copies(store, tmp_path, photo):
    from PIL import Image

    with Image.open(photo) as image:
        image.transpose(Image.Transpose.ROTATE_90).save(tmp_path / "turned.png")
    listed = hash_file(str(photo), HashOptions())
    store.import_entries("caid", _pdq_rows([listed.pdq.value]), spec=ListSpec())
    turned = hash_file(str(tmp_path / "turned.png"), HashOptions(dihedral=True))
    matcher = Matcher(store)
    assert matcher.match_file(turned, dihedral=False).alerts == []
    (match,) = matcher.match_file(turned, dihedral=True).alerts
    assert match.signal == "pdq" and match.distance <= 16


def test_low_quality_hashes_are_not_matched_by_pdq(store, tmp_path):
    from PIL import Image

    Image.new("RGB", (300, 300), (90, 90, 90)).save(tmp_path / "flat.png")
    flat = hash_file(str(tmp_path / "flat.png"), HashOptions())
    assert flat.pdq.low_quality
    store.import_entries("caid", _pdq_rows([flat.pdq.value]), spec=ListSpec())
    assert Matcher(store).match_file(flat).alerts == []


@pytest.mark.parametrize("radius", [31])
def test_matcher_radius_covers_the_largest_list_threshold(store, radius):
    store.import_entries(
        "wide", _pdq_rows([os.urandom(32)]), spec=ListSpec(thresholds={"pdq": Thresholds(45)})
    )
    assert Matcher(store).radius() == 45
    assert PDQ.default_threshold == radius
