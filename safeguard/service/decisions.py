"""From an upload or a batch of hashes to matches and an action, audited and announced.

This is where the service decides. It hashes uploads exactly as ``safeguard
hash`` does (fast PDQ mode, plus the dihedral variants so a flipped or rotated
copy is caught), asks the one shared :class:`~safeguard.matching.Matcher`, turns
the hits into the strongest action, shows each key only the fields it may see,
and writes the decision to the audit log (and, for hits, the webhook outbox).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from safeguard.errors import UsageError
from safeguard.formats.hash_records import to_record
from safeguard.matching import Match, Matcher
from safeguard.media.options import DecodeLimits, PdqMode, Variants
from safeguard.service import metrics
from safeguard.service.auth import Caller
from safeguard.service.recorder import Recorder
from safeguard.signals import SIGNAL_TYPES
from safeguard.signals.extract import HashOptions, hash_content
from safeguard.store import Action
from safeguard.store.audit import AuditEvent

NO_ACTION = "none"
PendingHit = tuple[AuditEvent, dict]  # an audit event and its webhook payload


def upload_options(
    max_pixels: int, max_video_seconds: float, variants: Variants = Variants.NONE
) -> HashOptions:
    """How uploads are hashed: fast PDQ with its dihedral variants (and normalised views,
    if asked for), and videos' vPDQ at a frame a second, under decode caps (pixels; a
    video's length)."""
    return HashOptions(
        pdq_mode=PdqMode.FAST,
        dihedral=True,
        limits=DecodeLimits(max_decoded_pixels=max_pixels, max_video_seconds=max_video_seconds),
        seconds_per_hash=1.0,
        query_views=variants.query_views,
    )


class UnhashableUpload(Exception):
    """The upload could not be read as what it claims to be (corrupt or hostile)."""


class UploadTooLarge(UnhashableUpload):
    """The upload would decode to more pixels than the service allows."""


@dataclass(frozen=True, slots=True)
class Query:
    signal: str
    value: bytes


def parse_queries(pairs: Sequence[tuple[str, str]]) -> list[Query]:
    """Validate (signal, hex) pairs; a UsageError names the first bad one (from 1)."""
    parsed = []
    for position, (signal, text) in enumerate(pairs, 1):
        try:
            parsed.append(Query(signal, SIGNAL_TYPES[signal].parse(text)))
        except UsageError as error:
            raise UsageError(f"hash {position}: {error}") from None
    return parsed


def _acted_on(matches: Sequence[Match]) -> bool:
    return any(match.decision is not None for match in matches)


def strongest(matches: Sequence[Match]) -> str:
    actions = [m.decision for m in matches if m.decision is not None]
    return max(actions, key=lambda a: a.strength).value if actions else NO_ACTION


def _ordered(matches: Sequence[Match]) -> list[Match]:
    return sorted(matches, key=lambda m: (-_strength(m.decision), m.distance, m.list, m.entry))


def _strength(action: Action | None) -> int:
    return action.strength if action is not None else 0


def full_views(matches: Sequence[Match]) -> list[dict]:
    """Every field of every hit, strongest first: for the audit log and the webhooks."""
    return [
        {**match.to_json(), "action": match.decision.value if match.decision else NO_ACTION}
        for match in _ordered(matches)
    ]


def keyed_view(full: Sequence[dict], fields: Sequence[str]) -> list[dict] | None:
    """What a key may see of its hits: its fields only, or nothing but the action."""
    if not fields:
        return None
    shown = []
    for match in full:
        view = {"action": match["action"], **{name: match[name] for name in fields}}
        if "category" in fields:
            view["scheme"] = match["scheme"]
        if "distance" in fields and "via" in match:  # how near, and through what
            view["via"] = match["via"]
        shown.append(view)
    return shown


class DecisionDesk:
    def __init__(self, matcher: Matcher, recorder: Recorder, upload: HashOptions) -> None:
        self.matcher = matcher
        self.recorder = recorder
        self.upload = upload

    def match_upload(self, data: bytes, filename: str | None, caller: Caller) -> dict:
        hashes = hash_content(filename or "upload", lambda: io.BytesIO(data), self.upload)
        if hashes.error is not None:
            raise (UploadTooLarge if hashes.too_large else UnhashableUpload)(hashes.error)
        result = self.matcher.match_file(hashes, dihedral=True)
        record = to_record(hashes)
        record["path"] = filename
        action = strongest(result.alerts)
        full = full_views(result.alerts)
        summary = {
            "endpoint": "/v1/match",
            "size": hashes.size,
            "md5": record["md5"],
            "sha256": record["sha256"],
            "pdq": record["pdq"],
            "action": action,
            "matches": full,
        }
        # A hit that leads to nothing (a non-pertinent grade) is answered, not announced.
        hit = self._record(caller, summary, hit=_acted_on(result.alerts))
        if hit is not None:
            self.recorder.record_hit(*hit)
        metrics.DECISIONS.labels("upload", action).inc()
        self._observe_index()
        return {
            "hashes": record,
            "matches": keyed_view(full, caller.key.fields),
            "action": action,
        }

    def match_hashes(
        self, queries: Sequence[Query], caller: Caller
    ) -> tuple[dict, PendingHit | None]:
        """The answer, and the hit record the caller must write before sending it."""
        outcomes = self.matcher.match_many([[(q.signal, q.value)] for q in queries])
        results, hits = [], []
        for query, outcome in zip(queries, outcomes, strict=True):
            action = strongest(outcome.alerts)
            text = SIGNAL_TYPES[query.signal].to_text(query.value)
            full = full_views(outcome.alerts)
            results.append(
                {
                    "signal": query.signal,
                    "value": text,
                    "matches": keyed_view(full, caller.key.fields),
                    "action": action,
                }
            )
            if _acted_on(outcome.alerts):
                hits.append(
                    {"signal": query.signal, "value": text, "action": action, "matches": full}
                )
            metrics.DECISIONS.labels("hashes", action).inc()
        overall = strongest([m for outcome in outcomes for m in outcome.alerts])
        summary = {
            "endpoint": "/v1/match/hashes",
            "queries": len(queries),
            "action": overall,
            "hits": hits,
        }
        pending = self._record(caller, summary, hit=bool(hits))
        self._observe_index()
        return {"results": results}, pending

    def _record(self, caller: Caller, summary: dict, *, hit: bool) -> PendingHit | None:
        """Queue a decision without hits; return one with hits, to be written before replying."""
        event = caller.event("match.decision", summary)
        if not hit:
            self.recorder.record_later(event)
            return None
        payload = {
            "event": "match",
            "at": event.at.isoformat(),
            "key": caller.key.name,
            "origin": caller.origin,
            **summary,
        }
        return event, payload

    def _observe_index(self) -> None:
        index = self.matcher.pdq_index
        metrics.observe_index(len(index), index.refreshed_at)
