"""Request hygiene that every endpoint needs."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

from sora_social.common.errors import error_body


class RejectNulCharactersMiddleware:
    """A NUL byte in the URL or query string is a 400, not a 500 from PostgreSQL (its text
    type cannot hold one). Request bodies are covered by DRF's CharField, which refuses NUL."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path or any(
            "\x00" in k or "\x00" in v for k, values in request.GET.lists() for v in values
        ):
            return JsonResponse(error_body("invalid_characters", "The URL contains a NUL character."), status=400)
        return self.get_response(request)
