"""Grading schemes, and which of several disagreeing grades counts.

* ``uk``: the Sentencing Council categories A (most serious), B, C.
* ``vics``: Project VIC's US profile: 1 child abuse material, 2 exploitive /
  age-difficult, 3 CGI or animation, 4 comparison, 0 non-pertinent; no category
  means uncategorised. NCMEC's industry grades (A1/A2/B1/B2) are a different
  scale and are never converted into either.

When several lists grade the same file differently, matching reports every
grade and counting uses the most severe one within each scheme: A > B > C, and
1 > 2 > 3 > 4 > 0 (non-pertinent is the weakest assertion; an uncategorised hit
never outranks a graded one). Grades of different schemes are never compared.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from functools import lru_cache


class Scheme(StrEnum):
    UK = "uk"
    VICS = "vics"


# Most severe first.
SEVERITY: dict[Scheme, tuple[str, ...]] = {
    Scheme.UK: ("A", "B", "C"),
    Scheme.VICS: ("1", "2", "3", "4", "0"),
}

VICS_NAMES = {
    "0": "Non-Pertinent",
    "1": "Child Abuse Material",
    "2": "Child Exploitive / Age Difficult",
    "3": "CGI / Animation",
    "4": "Comparison",
}


def normalise_category(scheme: Scheme, raw: object) -> str | None:
    """The stored form of a category, or ``ValueError`` naming what was wrong."""
    if raw is None:
        return None
    if isinstance(raw, str | int):
        return _normalise_cached(scheme, raw)
    return _normalise(scheme, raw)


@lru_cache(maxsize=256)  # imports repeat a handful of category spellings millions of times
def _normalise_cached(scheme: Scheme, raw: str | int) -> str | None:
    return _normalise(scheme, raw)


def _normalise(scheme: Scheme, raw: object) -> str | None:
    text = str(raw).strip()
    if text == "" or text.lower() in ("null", "none", "uncategorised", "uncategorized"):
        return None
    if scheme is Scheme.UK:
        text = text.upper().removeprefix("CATEGORY ").strip()
    elif text.lower().startswith("vics:"):
        text = text[5:]
    if text not in SEVERITY[scheme]:
        allowed = ", ".join(SEVERITY[scheme])
        raise ValueError(f"unknown {scheme} category {raw!r} (expected one of {allowed})")
    return text


def report_key(scheme: Scheme | str, category: str | None) -> str:
    """The key a category is counted under in reports: ``A`` for uk, ``vics:1`` for vics."""
    label = category if category is not None else "uncategorised"
    return label if Scheme(scheme) is Scheme.UK else f"vics:{label}"


def most_severe(scheme: Scheme | str, categories: Iterable[str | None]) -> str | None:
    order = SEVERITY[Scheme(scheme)]
    graded = [c for c in categories if c is not None]
    return min(graded, key=order.index) if graded else None


UK_NAMES = {
    "A": "UK Category A (the most serious, Sentencing Council guideline)",
    "B": "UK Category B",
    "C": "UK Category C (the least serious)",
    "NP": "Non-pertinent: an examiner's grade of a picture that is not indecent (never counted)",
}


def describe(key: str) -> str:
    """What a report key means, for a report's legend: ``A``, ``vics:1``, ``uncategorised``..."""
    scheme, _, code = key.rpartition(":")
    if scheme == "vics":
        if code in VICS_NAMES:
            suffix = ": not counted as a match" if code == "0" else ""
            return f"Project VIC category {code}: {VICS_NAMES[code]}{suffix}"
        return "Project VIC list entry with no category"
    return UK_NAMES.get(key, "UK-scheme list entry with no category")
