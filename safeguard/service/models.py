"""The JSON shapes of the API (they make the OpenAPI document, so keep them exact)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

from safeguard.signals import PDQ, SIGNAL_TYPES
from safeguard.store import Action, ListKind, Scheme, Thresholds

SignalName = Literal[tuple(SIGNAL_TYPES)]  # type: ignore[valid-type]  # from the registry
Decision = Literal["block", "quarantine", "report", "review", "none"]
HEX = r"^[0-9a-fA-F]+$"
Percent = Annotated[float, Field(ge=0, le=100)]
# Text bound for the database: PostgreSQL refuses NUL characters, so they are a 422 here.
NO_NUL = r"^[^\x00]*$"
NAME = r"^[^\x00]*\S[^\x00]*$"  # at least one visible character
ListName = Annotated[str, Path(max_length=200, pattern=NO_NUL)]
MAX_VALUE_TEXT = 4 << 20  # a vPDQ value: over 14 hours of video at one frame a second


class Problem(BaseModel):
    detail: str


class HashRecord(BaseModel):
    """Exactly the record ``safeguard hash`` writes for a file."""

    path: str | None
    size: int | None
    type: str | None
    md5: str | None
    sha1: str | None
    sha256: str | None
    pdq: str | None
    pdq_quality: int | None
    width: int | None
    height: int | None
    error: str | None


class MatchOut(BaseModel):
    """One hit. Which fields appear is set per API key; ``action`` always does."""

    model_config = ConfigDict(extra="forbid")

    action: Decision = Field(description="What this hit asks for (review: in the review band).")
    list: str | None = None
    entry: int | None = None
    signal: SignalName | None = None
    distance: int | None = None
    category: str | None = None
    scheme: Scheme | None = Field(None, description="How to read the category (uk or vics).")
    via: str | None = Field(
        None,
        description="Shown with the distance when the hit was found only through a variant: "
        "a view of the upload (query:trim, query:band, query:deskew, query:tile-N), a variant "
        "enrolled with the entry's picture (enrolled:crop-8%), both joined by +, or "
        "query:tiles+enrolled:tiles (two aligned quadrants).",
        max_length=80,
    )


class UploadMatch(BaseModel):
    hashes: HashRecord
    matches: list[MatchOut] | None = Field(
        description="Hits, strongest first; null when this key is shown the action only."
    )
    action: Decision = Field(description="The strongest action any hit asks for.")


class HashQuery(BaseModel):
    signal: SignalName
    value: str = Field(
        min_length=32,
        max_length=MAX_VALUE_TEXT,
        pattern=NO_NUL,
        description="Hex (md5 32 digits, sha1 40, sha256 and pdq 64); for vpdq, a video's "
        "frames as `frame_number,quality,pdq_hex,timestamp` joined by `;`.",
    )


class HashLookup(BaseModel):
    hashes: list[HashQuery] = Field(min_length=1, max_length=1000)


class HashResult(BaseModel):
    signal: SignalName
    value: str
    matches: list[MatchOut] | None
    action: Decision


class HashLookupResults(BaseModel):
    results: list[HashResult]


class SignalThresholds(BaseModel):
    model_config = ConfigDict(extra="forbid")

    threshold: int | None = Field(None, ge=0, le=128, description="null: the signal's default.")
    review_threshold: int | None = Field(
        None, ge=1, le=128, description="Distances above the threshold and up to this: review."
    )


class ListThresholds(BaseModel):
    """A list's match distances: ``pdq_threshold`` and ``review_threshold`` are PDQ's;
    ``thresholds`` names them for any signal with a distance (vpdq: per frame)."""

    pdq_threshold: int | None = Field(None, ge=0, le=128)
    review_threshold: int | None = Field(None, ge=1, le=128)
    thresholds: dict[SignalName, SignalThresholds] = Field(default_factory=dict)

    def by_signal(self) -> dict[str, Thresholds]:
        found = {s: Thresholds(t.threshold, t.review_threshold) for s, t in self.thresholds.items()}
        if self.pdq_threshold is not None or self.review_threshold is not None:
            given = found.get(PDQ.name, Thresholds())
            found[PDQ.name] = given.merged(Thresholds(self.pdq_threshold, self.review_threshold))
        return found


class CategoryPolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["block", "quarantine", "report", "review", "none"] | None = Field(
        None, description="What a hit on this grade leads to (none: nothing; null: the list's)."
    )
    review_threshold: int | None = Field(None, ge=1, le=128)


class ListOut(BaseModel):
    name: str
    kind: ListKind
    scheme: Scheme
    enabled: bool
    action: Action | None = Field(description="What a hit leads to (null: never acts).")
    pdq_threshold: int | None
    review_threshold: int | None
    vpdq_percents: tuple[float, float] = Field(description="Query and banked frames, in %.")
    thresholds: dict[str, SignalThresholds] = Field(description="The list's own, by signal.")
    category_policies: dict[str, CategoryPolicyIn] = Field(
        description="Action and review threshold by category (none: uncategorised entries)."
    )
    variants: Literal["none", "query", "all"] = Field(
        description="The most the list takes of matches found only through a variant: none, "
        "query (views of the query) or all (those and the variants enrolled with its pictures)."
    )
    entries: dict[str, int] = Field(description="Entries per signal, disabled ones included.")
    updated_at: datetime


class ListCreate(ListThresholds):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, pattern=NAME)
    kind: ListKind = ListKind.ALERT
    scheme: Scheme = Scheme.UK
    action: Action | None = None


class ListChange(ListThresholds):
    model_config = ConfigDict(extra="forbid")

    enabled: bool | None = None
    action: Action | None = None
    variants: Literal["none", "query", "all"] | None = None
    category_policies: dict[str, CategoryPolicyIn] = Field(
        default_factory=dict,
        description='By category (VICS 0-4, UK A-C, none): e.g. {"2": {"action": "review"}}.',
    )
    vpdq_percents: tuple[Percent, Percent] | None = Field(
        None,
        description="A video matches when at least [0] % of the query's frames and [1] % "
        "of the banked video's find a partner (default 80, 0).",
    )


class EntryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    signal: SignalName
    value: str = Field(
        min_length=1,
        max_length=MAX_VALUE_TEXT,
        pattern=NO_NUL,
        description="Hex; for vpdq, frames `frame_number,quality,pdq_hex,timestamp` joined by `;`.",
    )
    category: str | None = Field(None, max_length=16, pattern=NO_NUL)
    series: str | None = Field(None, max_length=1000, pattern=NO_NUL)
    victim_identified: bool | None = None
    external_id: str | None = Field(None, max_length=200, pattern=NO_NUL)
    notes: str | None = Field(None, max_length=10_000, pattern=NO_NUL)


class EntriesAdd(BaseModel):
    entries: list[EntryIn] = Field(min_length=1, max_length=10_000)
    skip_bad: bool = Field(False, description="Add the good entries and report the bad.")


class EntriesEdition(BaseModel):
    """A list's new edition, whole: what is not in it is left, removed or disabled."""

    entries: list[EntryIn] = Field(min_length=1, max_length=10_000)
    prune: Literal["remove", "disable"] | None = Field(
        None, description="What happens to entries the edition no longer holds (null: kept)."
    )
    skip_bad: bool = Field(False, description="Apply the good entries and report the bad.")


class BadEntry(BaseModel):
    record: int | str = Field(description="Position of the entry in the request, from 1.")
    reason: str


class EntriesAdded(BaseModel):
    list: str
    imported: int
    bad: list[BadEntry]


class EntriesRejected(BaseModel):
    detail: str
    bad: list[BadEntry]


class EntryDisable(BaseModel):
    until: datetime | None = Field(None, description="Active again after this time.")


class WebhookCreate(BaseModel):
    url: str = Field(min_length=1, max_length=2000, pattern=NO_NUL)


class WebhookOut(BaseModel):
    id: int
    url: str
    enabled: bool
    created_at: datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(description="Signs every delivery; shown this once.")


class Liveness(BaseModel):
    alive: bool


class Readiness(BaseModel):
    """Whether this worker can answer; details (index size, revision) are in /metrics."""

    ready: bool
    reason: str | None


def problems(*codes: int) -> dict:
    described = {
        401: "Missing, unknown or revoked API key.",
        403: "The key lacks the scope this route needs.",
        404: "No such list, entry or webhook.",
        409: "A list with that name exists.",
        413: "Request body too large.",
        422: "The request (or the upload) cannot be used.",
        429: "Rate limit exceeded: see Retry-After.",
    }
    return {code: {"model": Problem, "description": described[code]} for code in codes}


KEYED = (401, 403, 429)  # what any keyed route may answer
