"""The OpenAPI schema is the contract clients are generated from (sora_social/common/schema.py):
JSON request bodies except real uploads, every error declared with the error body, operation ids
`<resource>_<action>` and a summary on each operation."""

from __future__ import annotations

import re

import pytest
from drf_spectacular.generators import SchemaGenerator

METHODS = {"get", "post", "put", "patch", "delete"}
# Real uploads: multipart (and JSON beside it where the same operation takes plain fields).
UPLOADS = {
    ("post", "/api/v1/cameos"): {"multipart/form-data"},
    ("post", "/api/v1/videos"): {"multipart/form-data"},
    ("patch", "/api/v1/me"): {"application/json", "multipart/form-data"},
}
OPENAI_PREFIX = "/v1/"  # the OpenAI-compatible API keeps the encodings OpenAI's SDK sends


@pytest.fixture(scope="module")
def schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def _operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method, path, operation


def test_request_bodies_are_json_except_uploads(schema):
    for method, path, operation in _operations(schema):
        body = operation.get("requestBody")
        if body is None or path.startswith(OPENAI_PREFIX):
            continue
        expected = UPLOADS.get((method, path), {"application/json"})
        assert set(body["content"]) == expected, (method, path, list(body["content"]))


def test_every_operation_declares_its_errors_with_the_error_body(schema):
    for method, path, operation in _operations(schema):
        responses = operation["responses"]
        assert "400" in responses, (method, path)
        if any(operation.get("security", [])):  # a bearer token is read
            assert "401" in responses, (method, path)
        if "{" in path:
            assert "404" in responses, (method, path)
        for code, response in responses.items():
            if code.startswith("4"):
                schema_ref = response["content"]["application/json"]["schema"]["$ref"]
                shape = "OpenAIError" if path.startswith(OPENAI_PREFIX) else "Error"
                assert schema_ref == f"#/components/schemas/{shape}", (method, path, code)
    error = schema["components"]["schemas"]["ErrorDetail"]
    assert set(error["required"]) == {"code", "message", "fields"}


def test_operation_ids_name_resource_and_action_and_every_operation_has_a_summary(schema):
    ids = []
    for method, path, operation in _operations(schema):
        assert re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)+", operation["operationId"]), operation["operationId"]
        assert not operation["operationId"].startswith("api_v1"), operation["operationId"]
        assert operation.get("summary"), (method, path)
        ids.append(operation["operationId"])
    assert len(ids) == len(set(ids))


def test_a_paged_list_is_a_list_operation(schema):
    assert schema["paths"]["/api/v1/posts/{post_id}/remixes"]["get"]["operationId"] == "posts_remixes_list"
    assert schema["paths"]["/api/v1/users/{handle}/follow"]["delete"]["operationId"] == "users_unfollow"
    limit = next(p for p in schema["paths"]["/api/v1/feed/latest"]["get"]["parameters"] if p["name"] == "limit")
    assert limit["schema"] == {"type": "integer", "minimum": 1, "maximum": 100}


@pytest.mark.django_db
def test_a_form_encoded_body_is_refused_where_the_schema_says_json(api):
    response = api.put("/api/v1/feed/steering", "text=more+anime", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_seconds_and_size_are_enums_in_the_schema(schema):
    props = schema["components"]["schemas"]["GenerationInputRequest"]["properties"]
    seconds = schema["components"]["schemas"][props["seconds"]["allOf"][0]["$ref"].rsplit("/", 1)[1]]
    assert seconds["enum"] == [4, 8, 12]


def test_typed_nested_objects(schema):
    components = schema["components"]["schemas"]
    notification = components["NotificationOutput"]["properties"]
    for name in ("actor", "data", "target"):
        assert "$ref" in str(notification[name]), name
    assert "$ref" in str(notification["kind"])
    assert "$ref" in str(components["OwnCameoOutput"]["properties"]["verification"])
    assert "$ref" in str(components["PostOutput"]["properties"]["visibility"])


@pytest.mark.django_db
def test_validation_agrees_with_the_schema(api):
    from tests.feed.factories import PostFactory

    # An empty body is not {"personalized": ...}: the schema requires it.
    assert api.put("/api/v1/feed/preferences").status_code == 400
    assert api.put("/api/v1/feed/preferences", {}, format="json").status_code == 400
    # A body of null is not the object the schema describes.
    post = PostFactory(visibility="public")
    response = api.post(f"/api/v1/posts/{post.pk}/shares", "null", content_type="application/json")
    assert response.status_code == 400, response.content
    assert api.post(f"/api/v1/posts/{post.pk}/shares", {}, format="json").status_code == 201
    # seconds outside the schema's enum
    response = api.post("/api/v1/generations", {"prompt": "a red ball", "seconds": 5}, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_seconds"


def test_text_the_server_refuses_as_blank_is_outside_the_schema(api, schema):
    """A trimmed text field needs one character str.strip() keeps: its pattern and the server
    agree on every kind of space (" " was schema-valid and refused 400 before)."""
    from tests.feed.factories import PostFactory

    components = schema["components"]["schemas"]
    pattern = re.compile(components["CommentCreateInputRequest"]["properties"]["body"]["pattern"])
    assert components["VideoCreateRequest"]["properties"]["prompt"]["pattern"] == pattern.pattern
    post = PostFactory(visibility="public")
    for text in (" ", "\t\n\r", "\x1f", "\x85", "\u00a0", "\u2003", "\u3000", "a", "  a  ", "\ufeff", "\u200b"):
        allowed = bool(pattern.search(text))
        assert allowed == bool(text.strip()), repr(text)
        response = api.post(f"/api/v1/posts/{post.pk}/comments", {"body": text}, format="json")
        assert (response.status_code == 201) == allowed, (repr(text), response.json())
    assert not pattern.search("a\x00b")  # nor a NUL, as every request string
    # A string field that keeps its spaces, or may be blank, has no such pattern.
    login = components["LoginInputRequest"]["properties"]["password"]
    assert login.get("pattern") != pattern.pattern


@pytest.mark.django_db
def test_a_file_endpoint_answers_its_errors_as_json_whatever_was_asked(api):
    response = api.get("/api/v1/cameos/999999/clip?format=bin")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"


@pytest.mark.django_db
def test_an_id_past_bigint_is_never_a_server_error(api, schema):
    """Django's int converter takes any digits; every operation with an integer in its path is
    called with one no row can have (the chain's SQL answered 500 to it)."""
    huge = str(2**64)
    called = 0
    for method, path, operation in _operations(schema):
        integers = [
            p["name"]
            for p in operation.get("parameters", [])
            if p["in"] == "path" and p.get("schema", {}).get("type") == "integer"
        ]
        if not integers:
            continue
        url = path
        for name in integers:
            url = url.replace("{" + name + "}", huge)
        url = re.sub(r"\{[^}]+\}", "x", url)  # any other path parameter: a string that names nothing
        response = getattr(api, method)(url, {}, format="json") if method != "get" else api.get(url)
        assert response.status_code < 500, (method, url, response.content[:300])
        called += 1
    assert called > 40
