"""A person who leaves takes their webhook endpoints (and their delivery logs) with them."""

from __future__ import annotations

from sora_social.users.models import User
from sora_social.webhooks.models import WebhookEndpoint


def erase(*, user: User) -> dict[str, int]:
    """The account eraser (users.ports), run early: nothing more is pushed to their apps."""
    _, deleted = WebhookEndpoint.objects.filter(user=user).delete()
    return {"webhooks.endpoints_deleted": deleted.get("webhooks.WebhookEndpoint", 0)}
