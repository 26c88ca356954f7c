"""Moderation disabling a misused cameo, and restoring it when an appeal is won."""

from __future__ import annotations

from django.db import transaction

from cameos import ports
from cameos.models import Cameo, CameoStatus
from sora_social.users.models import User


@transaction.atomic
def cameo_disable_by_moderation(*, cameo: Cameo, reason: str, by: User | None) -> Cameo:
    """Moderation stops a misused cameo (say, someone else's likeness): nobody may use it, and
    in-flight jobs featuring it are cancelled. Its owner cannot re-enable it; only a moderator's
    restore (`cameo_enable_by_moderation`) can."""
    cameo = Cameo.objects.select_for_update().get(pk=cameo.pk)
    if cameo.status != CameoStatus.ACTIVE:
        return cameo
    cameo.status = CameoStatus.DISABLED
    cameo.rejection_code = "disabled_by_moderation"
    cameo.rejection_reason = reason[:300]
    cameo.save(update_fields=["status", "rejection_code", "rejection_reason", "updated_at"])
    ports.cancel_jobs(cameo_id=cameo.pk, still_allowed=lambda user_id: False, reason=reason)
    return cameo


@transaction.atomic
def cameo_enable_by_moderation(*, cameo: Cameo, by: User | None = None) -> Cameo:
    """Undo `cameo_disable_by_moderation` (an appeal won)."""
    cameo = Cameo.objects.select_for_update().get(pk=cameo.pk)
    if cameo.status == CameoStatus.DISABLED:
        cameo.status = CameoStatus.ACTIVE
        cameo.rejection_code = cameo.rejection_reason = ""
        cameo.save(update_fields=["status", "rejection_code", "rejection_reason", "updated_at"])
    return cameo
