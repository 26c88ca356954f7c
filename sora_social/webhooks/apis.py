"""Thin REST views: an app registers endpoints, reads their delivery log, sends a test event.

Authenticated like the rest of the API (a person's token or an app's API key); with a key, an
endpoint may receive only the events its scopes cover (video events: `videos`, social: `social`).
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sora_social.apikeys.authentication import request_api_key
from sora_social.apikeys.models import ApiKeyScope
from sora_social.apikeys.permissions import SCOPE_ANY
from sora_social.common.pagination import page_payload, page_serializer, paginate_queryset
from sora_social.common.schema import PAGE_PARAMS
from sora_social.idempotency.apis import IDEMPOTENCY_KEY_PARAMETER, idempotent
from sora_social.webhooks import events, selectors, services
from sora_social.webhooks.models import WebhookDelivery, WebhookEndpoint
from sora_social.webhooks.serializers import (
    WebhookCreateInputSerializer,
    WebhookDeliveryOutputSerializer,
    WebhookOutputSerializer,
    WebhookWithSecretOutputSerializer,
)

TAGS = ["webhooks"]


def endpoint_data(endpoint: WebhookEndpoint, *, with_secret: bool = False) -> dict:
    data = {
        "id": endpoint.pk,
        "url": endpoint.url,
        "description": endpoint.description,
        "events": endpoint.events or list(events.ALL_EVENTS),
        "secret_prefix": endpoint.secret[:10],
        "created_at": endpoint.created_at,
        "disabled_at": endpoint.disabled_at,
    }
    if with_secret:
        data["secret"] = endpoint.secret
    return data


def delivery_data(delivery: WebhookDelivery) -> dict:
    return {
        "id": delivery.pk,
        "event_id": delivery.event_id,
        "event_type": delivery.event_type,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "response_status": delivery.response_status,
        "last_error": delivery.last_error,
        "created_at": delivery.created_at,
        "next_attempt_at": delivery.next_attempt_at if delivery.status == "pending" else None,
        "delivered_at": delivery.delivered_at,
        "attempt_log": delivery.attempt_log,
        "payload": delivery.payload,
    }


def allowed_events(request: Request) -> tuple[str, ...]:
    """What the caller may subscribe to: everything with a person's token; with an API key,
    the events its scopes cover."""
    key = request_api_key(request)
    if key is None:
        return events.ALL_EVENTS
    allowed: tuple[str, ...] = ()
    if key.allows(ApiKeyScope.VIDEOS):
        allowed += events.VIDEO_EVENTS
    if key.allows(ApiKeyScope.SOCIAL):
        allowed += events.SOCIAL_EVENTS
    return allowed


class _WebhookApi(APIView):
    api_key_scope = SCOPE_ANY  # any live key; the events it may receive follow its scopes


class WebhookListCreateApi(_WebhookApi):
    @extend_schema(
        operation_id="webhooks_list",
        summary="My webhook endpoints",
        responses=WebhookOutputSerializer(many=True),
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        return Response([endpoint_data(e) for e in selectors.webhook_endpoints_of_user(user=request.user)])

    @extend_schema(
        operation_id="webhooks_create",
        summary="Register an endpoint for events (signed with the secret in this answer)",
        request=WebhookCreateInputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={
            201: WebhookWithSecretOutputSerializer,
            400: OpenApiResponse(description="invalid_webhook_url (not http or https), invalid_event_type"),
            422: OpenApiResponse(
                description="invalid_webhook_url: not a host this server can call, or a private address"
            ),
            403: OpenApiResponse(description="event_type_not_allowed"),
            409: OpenApiResponse(description="too_many_webhooks"),
        },
        tags=TAGS,
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = WebhookCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = services.webhook_endpoint_create(
            user=request.user,
            url=data.validated_data["url"],
            events_wanted=data.validated_data["events"],
            description=data.validated_data["description"],
            allowed_events=allowed_events(request),
        )
        return Response(endpoint_data(endpoint, with_secret=True), status=status.HTTP_201_CREATED)


class WebhookDetailApi(_WebhookApi):
    @extend_schema(
        operation_id="webhooks_retrieve", summary="One webhook endpoint", responses=WebhookOutputSerializer, tags=TAGS
    )
    def get(self, request: Request, webhook_id: int) -> Response:
        return Response(endpoint_data(selectors.webhook_endpoint_get_owned(user=request.user, endpoint_id=webhook_id)))

    @extend_schema(
        operation_id="webhooks_delete",
        summary="Delete a webhook endpoint and its delivery log",
        responses={204: None},
        tags=TAGS,
    )
    def delete(self, request: Request, webhook_id: int) -> Response:
        endpoint = selectors.webhook_endpoint_get_owned(user=request.user, endpoint_id=webhook_id)
        services.webhook_endpoint_delete(endpoint=endpoint)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookSecretRotateApi(_WebhookApi):
    @extend_schema(
        operation_id="webhooks_secret_rotate",
        summary="Replace the endpoint's secret (the new one is in this answer)",
        request=None,
        responses=WebhookWithSecretOutputSerializer,
        tags=TAGS,
    )
    def post(self, request: Request, webhook_id: int) -> Response:
        endpoint = selectors.webhook_endpoint_get_owned(user=request.user, endpoint_id=webhook_id)
        endpoint = services.webhook_endpoint_rotate_secret(endpoint=endpoint)
        return Response(endpoint_data(endpoint, with_secret=True))


class WebhookTestApi(_WebhookApi):
    @extend_schema(
        operation_id="webhooks_test",
        summary="Send a webhook.test event to this endpoint now",
        request=None,
        responses={202: WebhookDeliveryOutputSerializer},
        tags=TAGS,
    )
    def post(self, request: Request, webhook_id: int) -> Response:
        endpoint = selectors.webhook_endpoint_get_owned(user=request.user, endpoint_id=webhook_id)
        delivery = services.webhook_test_send(endpoint=endpoint)
        return Response(delivery_data(delivery), status=status.HTTP_202_ACCEPTED)


class WebhookDeliveryListApi(_WebhookApi):
    @extend_schema(
        operation_id="webhooks_deliveries_list",
        summary="The endpoint's delivery log, newest first: each event, its attempts and answers",
        parameters=[
            *PAGE_PARAMS,
            OpenApiParameter("event_type", str, description="Only this event type."),
        ],
        responses=page_serializer(WebhookDeliveryOutputSerializer),
        tags=TAGS,
    )
    def get(self, request: Request, webhook_id: int) -> Response:
        endpoint = selectors.webhook_endpoint_get_owned(user=request.user, endpoint_id=webhook_id)
        rows = selectors.webhook_deliveries_of(endpoint=endpoint, event_type=request.query_params.get("event_type"))
        page, next_cursor = paginate_queryset(rows, request, ordering=("-id",))
        return Response(page_payload(request, [delivery_data(d) for d in page], next_cursor))
