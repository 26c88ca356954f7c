"""Every successful JSON answer the test suite's API clients receive is checked against the
response schema of its operation (the OutputSerializers, through drf-spectacular): a view whose
hand-built dict drifts from its serializer fails the test that called it.

Used by the `api`, `client_for` and `anon_client` fixtures (tests/conftest.py). Errors and
statuses are schemathesis' part (tests/contract/test_schemathesis.py).
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import jsonschema
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from sora_social.common.schema import openapi_to_json_schema


@cache
def _schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


@cache
def _routes() -> list[tuple[re.Pattern, dict[str, Any]]]:
    routes = []
    for path, item in _schema()["paths"].items():
        pattern = re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$")
        routes.append((pattern, item))
    # Literal segments before parameters: /cameos/search is not /cameos/{cameo_id}.
    routes.sort(key=lambda route: route[0].pattern.count("[^/]+"))
    return routes


@cache
def _validator(path: str, method: str, status: str) -> jsonschema.Draft202012Validator | None:
    operation = next((item for pattern, item in _routes() if pattern.match(path)), {}).get(method)
    if operation is None:
        return None
    content = operation["responses"].get(status, {}).get("content", {}).get("application/json")
    if content is None:
        return None
    defs = {name: openapi_to_json_schema(s) for name, s in _schema()["components"]["schemas"].items()}
    schema = {**openapi_to_json_schema(content["schema"]), "$defs": defs}
    text = json.dumps(schema).replace("#/components/schemas/", "#/$defs/")
    return jsonschema.Draft202012Validator(
        json.loads(text), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def check_response(method: str, path: str, response) -> None:
    if not 200 <= response.status_code < 300 or "application/json" not in response.get("Content-Type", ""):
        return
    if response.get("Idempotent-Replayed"):
        return  # a stored body, as it was
    validator = _validator(path, method.lower(), str(response.status_code))
    if validator is None:
        return
    body = json.loads(response.content)
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path)
        raise AssertionError(
            f"{method} {path} {response.status_code}: the body does not match its schema at /{where}: {first.message}"
        )


class SchemaCheckedAPIClient(APIClient):
    def generic(self, method, path, *args, **kwargs):
        response = super().generic(method, path, *args, **kwargs)
        check_response(method, path.split("?", 1)[0], response)
        return response
