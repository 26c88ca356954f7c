"""Asking the owner of a "people I approve" cameo for permission, and the owner's answer."""

from __future__ import annotations

import math
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from cameos import constants
from cameos.models import Cameo, CameoAccessEntry, CameoRequest
from cameos.selectors import can_use_cameo
from sora_social.common.errors import ApplicationError, Conflict, NotFound
from sora_social.notifications.services import notify
from sora_social.users.models import User


@transaction.atomic
def cameo_request_create(*, cameo: Cameo, requester: User, message: str = "") -> CameoRequest:
    """Ask the owner of a "people I approve" cameo for permission. The owner is notified."""
    decision = can_use_cameo(requester, cameo)
    if decision.allowed:
        raise Conflict("already_allowed", "You may already use this cameo.")
    if decision.code == "request_pending":
        raise Conflict("request_pending", "You already asked; the owner has not decided yet.")
    if decision.code != "approval_required":
        # Every other refusal is final for a request; the cameo reads as absent, as in lookups.
        raise NotFound("cameo_not_found", "No such cameo.")
    last_denied = (
        CameoRequest.objects.filter(cameo=cameo, requester=requester, status=CameoRequest.Status.DENIED)
        .order_by("-decided_at")
        .values_list("decided_at", flat=True)
        .first()
    )
    cooldown = timedelta(seconds=constants.request_cooldown_seconds())
    if last_denied is not None and last_denied > timezone.now() - cooldown:
        wait_s = math.ceil((last_denied + cooldown - timezone.now()).total_seconds())
        raise ApplicationError(
            "request_cooldown",
            "The owner declined recently; you can ask again later.",
            status_code=429,
            extra={"retry_after_s": max(1, wait_s)},
        )
    try:
        with transaction.atomic():
            request = CameoRequest.objects.create(cameo=cameo, requester=requester, message=message.strip()[:300])
    except IntegrityError as exc:
        raise Conflict("request_pending", "You already asked; the owner has not decided yet.") from exc
    notify(
        recipient=cameo.owner,
        kind="cameo_request",
        actor=requester,
        data={
            "cameo_id": cameo.pk,
            "cameo_name": cameo.display_name,
            "request_id": request.pk,
            "message": request.message,
        },
        target=("cameo", cameo.pk),
    )
    return request


@transaction.atomic
def cameo_request_decide(*, request_id: int, actor: User, approve: bool) -> CameoRequest:
    """The owner approves (the requester goes on the allow list) or denies a request."""
    request = (
        CameoRequest.objects.select_for_update(of=("self",))
        .select_related("cameo", "cameo__owner", "requester")
        .filter(pk=request_id, cameo__owner=actor)
        .first()
    )
    if request is None:
        raise NotFound("request_not_found", "No such request.")
    if request.status != CameoRequest.Status.PENDING:
        raise Conflict("request_already_decided", f"This request was already {request.status}.")
    cameo = request.cameo
    request.status = CameoRequest.Status.APPROVED if approve else CameoRequest.Status.DENIED
    request.decided_at = timezone.now()
    request.save(update_fields=["status", "decided_at"])
    if approve:
        CameoAccessEntry.objects.update_or_create(
            cameo=cameo, user=request.requester, defaults={"effect": CameoAccessEntry.Effect.ALLOW}
        )
    notify(
        recipient=request.requester,
        kind="cameo_request_decided",
        actor=actor,
        data={
            "cameo_id": cameo.pk,
            "cameo_name": cameo.display_name,
            "request_id": request.pk,
            "decision": "approved" if approve else "denied",
        },
        target=("cameo", cameo.pk),
    )
    return request


@transaction.atomic
def cameo_request_withdraw(*, request_id: int, requester: User) -> CameoRequest:
    updated = CameoRequest.objects.filter(
        pk=request_id, requester=requester, status=CameoRequest.Status.PENDING
    ).update(status=CameoRequest.Status.WITHDRAWN, decided_at=timezone.now())
    if not updated:
        raise NotFound("request_not_found", "No pending request of yours with that id.")
    return CameoRequest.objects.get(pk=request_id)
