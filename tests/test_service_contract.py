"""The served OpenAPI document is the contract: every route behind a key, no 5xx under fuzzing."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from safeguard.service.app import create_app

from conftest import service_settings

UNKEYED = {"/v1/health", "/v1/health/ready"}
# The self-report door is public by design: its own defences are tested in
# test_self_reports_api.py (proof of work, per-address limits, receipts).
PUBLIC = {"/v1/self-reports", "/v1/self-reports/challenge", "/v1/self-reports/{receipt}"}


def _operations(document: dict):
    for path, methods in document["paths"].items():
        for method in methods:
            yield path, method


def _concrete(path: str) -> str:
    return (
        path.replace("{name}", "some-list").replace("{entry_id}", "1").replace("{webhook_id}", "1")
    )


def test_every_route_but_health_refuses_a_missing_or_wrong_key(service):
    document = service.call("GET", "/openapi.json", None).json()
    operations = list(_operations(document))
    assert len(operations) >= 14
    for path, method in operations:
        if path in UNKEYED:
            assert service.call(method.upper(), path, None).status_code in (200, 503)
            continue
        if path in PUBLIC:
            concrete = path.replace("{receipt}", "AAAA-BBBB-CCCC-DDDD")
            assert service.call(method.upper(), concrete, None).status_code in (200, 404, 422)
            assert "security" not in document["paths"][path][method], (method, path)
            continue
        for headers in ({}, {"Authorization": "Bearer sgk_0123456789ab_wrong"}):
            answer = service.call(method.upper(), _concrete(path), None, headers=headers)
            assert answer.status_code == 401, (method, path, answer.text)
            assert answer.json()["detail"]
        assert "security" in document["paths"][path][method], (method, path)


def test_the_served_document_describes_the_api(service):
    document = service.call("GET", "/openapi.json", None).json()
    paths = document["paths"]
    assert document["info"]["title"] == "Safeguard match service"
    upload = paths["/v1/match"]["post"]["requestBody"]["content"]
    assert set(upload) == {"multipart/form-data", "application/octet-stream"}
    assert {"401", "403", "413", "422", "429"} <= set(
        paths["/v1/match/hashes"]["post"]["responses"]
    )
    assert "503" in paths["/v1/health/ready"]["get"]["responses"]


@pytest.mark.slow
def test_fuzzing_finds_no_server_error_and_no_undocumented_answer(service):
    # An app of its own on the same store: schemathesis runs the app's lifespan itself.
    schema = schemathesis.openapi.from_asgi(
        "/openapi.json", create_app(service_settings(service.store_url))
    )
    schema.config.update(headers={"Authorization": f"Bearer {service.tokens['admin']}"})
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]
    fuzzed = 0
    for found in schema.get_all_operations():
        operation = found.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=60,
            deadline=None,
            derandomize=True,  # the same examples in every CI run: no flaky red
            suppress_health_check=list(HealthCheck),
        )
        def call(case):
            case.call_and_validate(checks=checks)

        call()
        fuzzed += 1
    assert fuzzed >= 14
