"""The OpenAPI schema is the API's contract (drf-spectacular, served at /api/schema/).

`ApiSchema` is the project's `DEFAULT_SCHEMA_CLASS`. Beside what drf-spectacular derives from
the views and serializers, it gives every operation:
- an operation id `<resource>_<action>` from its path (`/api/v1/posts/{post_id}/comments` GET →
  `posts_comments_list`, POST → `posts_comments_create`; a verb at the end of the path is the
  action: `cameos_revoke`, `users_follow`, and its DELETE the undo: `users_unfollow`), unless the
  view names one;
- the errors it can answer, each with the one error body (`Error`): 400 always (query strings and
  bodies are checked on every route), 401 where a token is read, 403 where a permission beyond
  "authenticated" applies, 404 where the path names an object, 413 where there is a body, 422
  and 409 where an `Idempotency-Key` is honoured, 429 where a throttle applies; a view adds
  the ones only it can answer with `error_responses(...)` in its `extend_schema(responses=...)`,
  or, for all its writes, with an `error_statuses_on_write` attribute;
- a DELETE that answers a body is a 200 with it (drf-spectacular would say 204);
- a DELETE that reads a body (a view with `delete_reads_body = True`) describes it.
"""

from __future__ import annotations

import re
from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema_field
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAuthenticated

from sora_social.common.pagination import MAX_PAGE_SIZE
from sora_social.common.serializers import InputSerializer


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable, e.g. not_found, invalid, throttled, prompt_blocked.")
    message = serializers.CharField(help_text="For people.")
    fields = serializers.DictField(
        child=serializers.JSONField(),
        help_text="Per request field, its messages (a list of strings, or an object for nested fields).",
    )
    retry_after_s = serializers.IntegerField(
        required=False, help_text="On a 429 (and other waits): seconds until a retry may succeed; also Retry-After."
    )

    class Meta:
        ref_name = "ErrorDetail"


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()

    class Meta:
        ref_name = "Error"


ERROR_DESCRIPTIONS = {
    400: "Invalid input (error.code names it).",
    401: "Missing, invalid, expired or revoked bearer token.",
    402: "Not enough credits.",
    403: "Not allowed (error.code says why, e.g. account_suspended, permission_denied).",
    404: "No such object, or not one you may see.",
    409: "Conflicts with the object's current state.",
    410: "Gone: it existed but is no longer available.",
    413: "The request body is larger than this route accepts.",
    415: "Unsupported media type.",
    416: "Range not satisfiable.",
    422: (
        "Well-formed (the schema allows it) but refused by a rule no schema can state: error.code names it "
        "(e.g. idempotency_key_reused, weak_password, invalid_cursor, a policy refusal)."
    ),
    429: "Too many requests: retry after Retry-After seconds (also error.retry_after_s).",
    503: "A backing service is briefly unavailable: retry after Retry-After seconds.",
}


def error_response(status: int, description: str | None = None) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description or ERROR_DESCRIPTIONS[status])


def error_responses(*statuses: int, **described: str) -> dict[int, OpenApiResponse]:
    """`error_responses(409, 422)` or `error_responses(e409="why")`: entries for extend_schema's responses."""
    out = {status: error_response(status) for status in statuses}
    for key, description in described.items():
        out[int(key.removeprefix("e"))] = error_response(int(key.removeprefix("e")), description)
    return out


_ENUM_FIELDS: dict[str, type[serializers.ChoiceField]] = {}


def enum_field(component: str, choices, **kwargs) -> serializers.ChoiceField:
    """A ChoiceField whose enum is its own named schema component (`component`): several apps
    have fields named `status` or `kind` with different choices, and drf-spectacular's
    project-wide enum names would collide."""
    field_class = _ENUM_FIELDS.get(component)
    if field_class is None:
        values = [value for value, _ in choices]
        field_class = extend_schema_field({"type": "string", "enum": values}, component_name=component)(
            type(f"{component}Field", (serializers.ChoiceField,), {})
        )
        _ENUM_FIELDS[component] = field_class
    return field_class(choices=choices, **kwargs)


PAGE_PARAMS = [
    OpenApiParameter(
        "cursor",
        str,
        description="Opaque cursor from the previous page's next_cursor; one this server did not issue is a 422.",
    ),
    OpenApiParameter(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
        description=f"Page size, 1-{MAX_PAGE_SIZE} (default 20).",
    ),
]

BINARY = OpenApiTypes.BINARY

# A path ending in one of these names an action, not a collection.
_VERBS = {
    "appeal",
    "block",
    "cancel",
    "confirm",
    "decide",
    "follow",
    "hide",
    "like",
    "login",
    "logout",
    "mark_read",
    "remove",
    "reset",
    "revoke",
    "signup",
    "withdraw",
}
_UNDO = {"DELETE": "un"}
_PREFIXES = ("api", "v1")


def _is_page(serializer: Any) -> bool:
    """A page of rows (`results` beside a cursor or a count) is a list operation."""
    cls = serializer if isinstance(serializer, type) else type(serializer)
    return "results" in getattr(cls, "_declared_fields", {})


def openapi_to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0 → JSON Schema: `nullable` becomes a null alternative, refs point at $defs."""
    if isinstance(node, list):
        return [openapi_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {
        key: openapi_to_json_schema(value)
        for key, value in node.items()
        if key not in {"nullable", "readOnly", "writeOnly"}
    }
    if "$ref" in out:
        out["$ref"] = out["$ref"].replace("#/components/schemas/", "#/$defs/")
    if node.get("nullable"):
        if "type" in out and "enum" not in out:
            out["type"] = [out["type"], "null"]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


class ApiSchema(AutoSchema):
    def _resource_tokens(self) -> list[str]:
        tokens = [t for t in self.path.strip("/").split("/") if t and not t.startswith("{")]
        while tokens and tokens[0] in _PREFIXES:
            tokens.pop(0)
        return [re.sub(r"[^a-z0-9]+", "_", t.lower()) for t in tokens] or ["root"]

    def _returns_list(self) -> bool:
        serializer = self.get_response_serializers()
        if isinstance(serializer, dict) and serializer:
            serializer = {str(code): s for code, s in serializer.items()}
            serializer = serializer[min(serializer)]
        if isinstance(serializer, OpenApiResponse):
            serializer = serializer.response
        return _is_page(serializer) or self._is_list_view(serializer)

    def get_operation_id(self) -> str:
        tokens = self._resource_tokens()
        method = self.method
        if tokens[-1] in _VERBS:
            if method == "DELETE":
                tokens[-1] = "un" + tokens[-1]
            elif method != "POST":
                tokens.append("retrieve" if method == "GET" else "update")
            return "_".join(tokens)
        if method == "GET":
            action = "list" if self._returns_list() else "retrieve"
        else:
            action = {"POST": "create", "PUT": "update", "PATCH": "update", "DELETE": "delete"}[method]
        return "_".join([*tokens, action])

    def _map_basic_serializer(self, serializer: Any, direction: str) -> dict[str, Any]:
        schema = super()._map_basic_serializer(serializer, direction)
        if direction == "request":
            for name, field in serializer.fields.items():
                _require_text_where_blank_is_refused(field, schema.get("properties", {}).get(name))
        if direction == "request" and isinstance(serializer, InputSerializer):
            # The server refuses undeclared fields (sora_social/common/serializers.py).
            schema["additionalProperties"] = False
            # What a serializer checks across its fields, where the schema can say it.
            schema.update(getattr(serializer, "schema_extra", {}))
        return schema

    def _get_request_body(self, direction: str = "request") -> dict[str, Any] | None:
        if self.method == "DELETE" and getattr(self.view, "delete_reads_body", False):
            # A DELETE that reads a body (the account's, which asks for the password) says so;
            # drf-spectacular only describes bodies of POST, PUT and PATCH.
            self.method = "POST"
            try:
                body = super()._get_request_body(direction)
            finally:
                self.method = "DELETE"
        else:
            body = super()._get_request_body(direction)
        if body is not None and (getattr(self.view, "request_body_required", False) or self._body_needs_a_field()):
            body["required"] = True
        return body

    def _body_needs_a_field(self) -> bool:
        # A body of optional fields that must hold at least one (minProperties) cannot be left out
        # either: drf-spectacular calls a body required only when one of its fields is.
        serializer = self.get_request_serializer()
        extra = getattr(serializer, "schema_extra", None)
        return bool(isinstance(extra, dict) and extra.get("minProperties"))

    def get_auth(self) -> list[dict[str, list[str]]]:
        # No authenticator: no security requirement at all ([{}] would read as "auth optional").
        return super().get_auth() if self.view.get_authenticators() else []

    # --- errors --------------------------------------------------------------------------
    def _reads_token(self) -> bool:
        return bool(self.view.get_authenticators())

    def _needs_more_than_login(self) -> bool:
        return any(not isinstance(p, (AllowAny, IsAuthenticated)) for p in self.view.get_permissions())

    def _is_idempotent(self) -> bool:
        handler = getattr(self.view, self.method.lower(), None)
        return bool(getattr(handler, "honours_idempotency_key", False))

    def error_statuses(self) -> set[int]:
        statuses = {400}
        if self._reads_token():
            statuses.add(401)
        if self._needs_more_than_login():
            statuses.add(403)
        if "{" in self.path:
            statuses.add(404)
        if self._get_request_body() is not None:
            # Too large; text with a NUL or a lone surrogate (422 invalid_characters, parsers.py).
            statuses |= {413, 422}
        if self._is_idempotent():
            statuses |= {409, 422}
        if getattr(self.view, "throttle_classes", None):
            statuses.add(429)
        if any(getattr(p, "name", None) == "cursor" for p in self.get_override_parameters()):
            statuses.add(422)  # invalid_cursor: a cursor this server did not issue
        if self.method != "GET":
            statuses |= set(getattr(self.view, "error_statuses_on_write", ()))
        return statuses

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        declared = self.get_response_serializers()
        if self.method == "DELETE" and declared is not None and not isinstance(declared, dict):
            # drf-spectacular assumes a DELETE answers 204; ours with a body answer 200.
            responses = {"200": self._get_response_for_code(declared, "200", direction=direction)}
        for status in sorted(self.error_statuses()):
            responses.setdefault(str(status), self._error_body(status))
        for code, response in list(responses.items()):
            # An error declared without a body gets the error body, keeping its description.
            if code.startswith(("4", "5")) and int(code) in ERROR_DESCRIPTIONS and "content" not in response:
                body = self._error_body(int(code))
                if response.get("description"):
                    body["description"] = response["description"]
                responses[code] = body
        return dict(sorted(responses.items()))

    def _error_body(self, status: int) -> dict[str, Any]:
        # A view answering errors in another shape names its serializer (the /v1/videos views).
        body = getattr(self.view, "error_serializer", ErrorSerializer)
        response = OpenApiResponse(body, description=ERROR_DESCRIPTIONS[status])
        return self._get_response_for_code(response, str(status), media_types=["application/json"])


# What the server refuses in any text (sora_social/common/parsers.py and middleware.py: PostgreSQL
# text cannot hold a NUL), as a pattern on every request string that no stricter rule covers.
NO_NUL_PATTERN = "^[^\\u0000]*$"
# DRF's CharField trims text with str.strip() and then refuses it as blank if nothing is left,
# so " " is refused where minLength 1 allows it. Such a field's text needs one character that
# str.isspace() does not count: spelled out, as ECMA's \s is another set (no \x1c-\x1f or \x85,
# but \ufeff). No NUL either, as above.
_SPACES = "\\t-\\r\\u001c-\\u0020\\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
NOT_BLANK_PATTERN = f"^[^\\u0000]*[^\\u0000{_SPACES}][^\\u0000]*$"


def _require_text_where_blank_is_refused(field: Any, node: dict[str, Any] | None) -> None:
    """A request field that DRF trims and refuses when blank says so in its schema (a pattern),
    as do the text items of a list of them."""
    if not isinstance(node, dict):
        return
    if isinstance(field, serializers.ListField) and isinstance(node.get("items"), dict):
        _require_text_where_blank_is_refused(field.child, node["items"])
        return
    if (
        isinstance(field, serializers.CharField)  # a regex, an email, a URL: their own rules (below)
        and field.trim_whitespace
        and not field.allow_blank
        and node.get("type") == "string"
        and not ({"enum", "format", "pattern"} & node.keys())
    ):
        node["pattern"] = NOT_BLANK_PATTERN


def _no_nul_in_strings(node: Any, components: dict[str, Any], seen: set[str]) -> None:
    if isinstance(node, list):
        for item in node:
            _no_nul_in_strings(item, components, seen)
        return
    if not isinstance(node, dict):
        return
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        name = ref.rsplit("/", 1)[1]
        if name not in seen and name in components:
            seen.add(name)
            _no_nul_in_strings(components[name], components, seen)
        return
    if node.get("type") == "string" and not ({"enum", "format", "pattern"} & node.keys()):
        node["pattern"] = NO_NUL_PATTERN
    for key, value in node.items():
        if key in {"properties", "items", "additionalProperties", "allOf", "anyOf", "oneOf", "schema"}:
            if key == "properties":
                for prop in value.values():
                    _no_nul_in_strings(prop, components, seen)
            else:
                _no_nul_in_strings(value, components, seen)


def postprocess_text_without_nul(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict:
    """drf-spectacular postprocessing hook: request strings (bodies and parameters) say that they
    cannot hold a NUL. Only what a client sends: response components are left as they are."""
    components = result.get("components", {}).get("schemas", {})
    seen: set[str] = set()
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                _no_nul_in_strings(parameter.get("schema"), components, seen)
            for media in operation.get("requestBody", {}).get("content", {}).values():
                _no_nul_in_strings(media.get("schema"), components, seen)
    return result
