"""What a hit leads to, per category: VICS 1 blocked, 2 reviewed, 0 (non-pertinent)
nothing by default and no webhook; UK grades as the list's action; a per-category review
band; set through the CLI and the API, kept and audited."""

from __future__ import annotations

import json

import pytest

from safeguard.errors import UsageError
from safeguard.matching import Matcher
from safeguard.store import Action, ListSpec, NewEntry, Scheme
from safeguard.store.category_policies import CategoryPolicy

from conftest import init_store, run_cli

VICS = ListSpec(scheme=Scheme.VICS)


def _md5(n: int) -> bytes:
    return bytes([n]) * 16


def _decisions(store) -> dict[int, Action | None]:
    found = {}
    for n in range(5):
        (hit,) = Matcher(store).match_hashes([("md5", _md5(n))]).alerts
        found[n] = hit.decision
    return found


def test_vics_0_leads_to_nothing_by_default_and_each_grade_can_have_its_own(store):
    rows = [NewEntry("md5", _md5(n), str(n) if n < 4 else None, record=n) for n in range(5)]
    store.import_entries("vics", rows, spec=VICS)
    assert _decisions(store) == {0: None, 1: Action.BLOCK, 2: Action.BLOCK, 3: Action.BLOCK,
                                 4: Action.BLOCK}  # fmt: skip
    changed = store.set_policy(
        "vics",
        category_policies={
            "2": CategoryPolicy("review"),
            "": CategoryPolicy("report"),
            "3": CategoryPolicy("none"),
        },
    )
    assert changed.category_policies_json()["none"] == {
        "action": "report",
        "review_threshold": None,
    }
    assert _decisions(store) == {0: None, 1: Action.BLOCK, 2: Action.REVIEW, 3: None,
                                 4: Action.REPORT}  # fmt: skip
    store.set_policy("vics", category_policies={"0": CategoryPolicy("review")})
    assert _decisions(store)[0] is Action.REVIEW  # a list may act on non-pertinent hits
    store.set_policy("vics", action=Action.QUARANTINE)  # the list's own, for the rest
    assert _decisions(store)[1] is Action.QUARANTINE
    with pytest.raises(UsageError, match="action is one of"):
        store.set_policy("vics", category_policies={"1": CategoryPolicy("shred")})


def test_a_review_band_per_category(store):
    target = bytes(32)
    near = bytes([0xFF] * 5) + bytes(27)  # 40 bits away
    store.import_entries("uk", [NewEntry("pdq", target, "C", record=1)], spec=ListSpec())
    matcher = Matcher(store, review_band=True)
    assert matcher.match_hashes([("pdq", near)]).alerts == []
    store.set_policy("uk", category_policies={"C": CategoryPolicy(review_threshold=45)})
    (hit,) = Matcher(store, review_band=True).match_hashes([("pdq", near)]).alerts
    assert hit.in_review_band and hit.decision is Action.REVIEW


@pytest.mark.slow
def test_category_actions_from_the_cli_and_the_api(tmp_path, service):
    db = init_store(str(tmp_path / "cli.db"))
    listed = tmp_path / "vics.csv"
    listed.write_text("md5,category\n" + _md5(1).hex() + ",1\n")
    run_cli("lists", "import", str(listed), "--list", "v", "--scheme", "vics", "--db", db)
    options = ["--category-action", "2=review", "--category-action", "none=report",
               "--category-review-threshold", "2=40"]  # fmt: skip
    shown = json.loads(run_cli("lists", "policy", "v", *options, "--db", db).stdout)
    assert shown["category_policies"] == {
        "2": {"action": "review", "review_threshold": 40},
        "none": {"action": "report", "review_threshold": None},
    }
    wrong = run_cli("lists", "policy", "v", "--category-action", "7=review", "--db", db,
                    check=False)  # fmt: skip
    assert wrong.returncode == 2 and "7" in wrong.stderr

    service.call("POST", "/v1/lists", "writer", json={"name": "v", "scheme": "vics"})
    entries = [{"signal": "md5", "value": _md5(n).hex(), "category": str(n)} for n in (0, 1, 2)]
    service.call("POST", "/v1/lists/v/entries", "writer", json={"entries": entries})
    changed = service.call("PATCH", "/v1/lists/v", "writer",
                           json={"category_policies": {"2": {"action": "review"}}})  # fmt: skip
    assert changed.json()["category_policies"]["2"]["action"] == "review"

    def decide(n: int) -> str:
        answer = service.call(
            "POST",
            "/v1/match/hashes",
            "match",
            json={"hashes": [{"signal": "md5", "value": _md5(n).hex()}]},
        )
        return answer.json()["results"][0]["action"]  # fmt: skip

    assert [decide(n) for n in (0, 1, 2)] == ["none", "block", "review"]
