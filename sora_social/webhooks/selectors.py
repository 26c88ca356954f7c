"""Reads of webhook endpoints and their delivery logs, always the owner's own."""

from __future__ import annotations

from django.db.models import QuerySet

from sora_social.common.errors import NotFound
from sora_social.users.models import User
from sora_social.webhooks.models import WebhookDelivery, WebhookEndpoint


def webhook_endpoints_of_user(*, user: User) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(user=user).order_by("-id")


def webhook_endpoint_get_owned(*, user: User, endpoint_id: int) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.filter(user=user, pk=endpoint_id).first()
    if endpoint is None:
        raise NotFound("webhook_not_found", "No such webhook endpoint.")
    return endpoint


def webhook_deliveries_of(*, endpoint: WebhookEndpoint, event_type: str | None = None) -> QuerySet[WebhookDelivery]:
    rows = WebhookDelivery.objects.filter(endpoint=endpoint)
    return rows.filter(event_type=event_type) if event_type else rows
