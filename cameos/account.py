"""What cameos exports and erases when a user leaves (registered on users.ports in CameosConfig).

Erasing comes first of all apps (see users.ports): every cameo the user owns is deleted
through `cameo_delete` (clip, references and embedding erased; every in-flight job featuring
it cancelled and refunded through the job-canceller port), then every appearance of it that is
still up is removed through `appearance_remove`, which takes the video down everywhere through
the video-takedown port: the user's own videos and other people's, drafts, and derivatives
(remixes, edits, extensions, recognised re-uploads), which carry appearances of the cameos
they inherit. The cameo rows stay (status revoked, renamed, emptied): appearances and the
royalty ledger point at them.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import Q

from cameos import services
from cameos.models import (
    Cameo,
    CameoAccessEntry,
    CameoAppearance,
    CameoChallenge,
    CameoReference,
    CameoRequest,
    RightsHolder,
    RoyaltyEntry,
)
from sora_social.users.models import User
from sora_social.users.ports import ExportFile, ExportSection

ERASE_REASON = "The person in this cameo deleted their account."


@transaction.atomic
def cameos_erase_for_account(*, user: User) -> dict[str, int]:
    cancelled = 0
    cameos = list(Cameo.objects.filter(owner=user).order_by("pk"))
    live_appearances = CameoAppearance.objects.filter(cameo__owner=user, status=CameoAppearance.Status.ACTIVE)
    live_before = live_appearances.count()
    for cameo in cameos:
        # Deletes the media and cancels every in-flight job featuring it (the owner's too).
        change = services.cameo_delete(cameo=cameo, actor=user, take_down_existing=False)
        cancelled += change.cancelled_jobs
        # Every appearance still up, whoever made it (the owner's own videos included, which
        # consent changes leave alone), and whatever status the cameo had.
        live = CameoAppearance.objects.filter(cameo=cameo, status=CameoAppearance.Status.ACTIVE).order_by("pk")
        for appearance_id in live.values_list("pk", flat=True):
            # Removing a source's appearance also removes its derivatives' (lineage), which may
            # be further down this list: those are already down.
            if CameoAppearance.objects.filter(pk=appearance_id, status=CameoAppearance.Status.ACTIVE).exists():
                services.appearance_remove(appearance_id=appearance_id, cameo=cameo, actor=user, reason=ERASE_REASON)
    taken_down = live_before - live_appearances.count()
    for cameo in cameos:
        # The row stays for the appearances and the ledger; nothing that names or describes
        # the person does. (An update, not a save: the objects above predate cameo_delete.)
        Cameo.objects.filter(pk=cameo.pk).update(
            name=f"deleted-{cameo.pk}",
            display_name="Deleted cameo",
            description="",
            aliases=[],
            instructions="",
            rejection_reason="",
            verification={},
            embedding=None,
            clip_path="",
        )
    CameoAccessEntry.objects.filter(Q(cameo__owner=user) | Q(user=user)).delete()
    requests, _ = CameoRequest.objects.filter(Q(cameo__owner=user) | Q(requester=user)).delete()
    CameoChallenge.objects.filter(owner=user).delete()
    RightsHolder.objects.filter(user=user).delete()
    return {
        "cameos.cameos_erased": len(cameos),
        "cameos.jobs_cancelled": cancelled,
        "cameos.appearances_taken_down": taken_down,
        "cameos.requests_deleted": requests,
    }


def _media_name(path: str, default_ext: str) -> str:
    return posixpath.splitext(path)[1].lower() or default_ext


def cameos_export_for_account(*, user: User) -> Iterable[ExportSection]:
    files: list[ExportFile] = []
    cameos: list[dict[str, Any]] = []
    rows = Cameo.objects.filter(owner=user).select_related("licence").order_by("pk")
    for cameo in rows:
        clip = None
        if cameo.clip_path:
            clip = f"media/cameos/{cameo.pk}/clip{_media_name(cameo.clip_path, '.mp4')}"
            files.append(ExportFile(archive_path=clip, storage_path=cameo.clip_path))
        references = []
        for ref in CameoReference.objects.filter(cameo=cameo).order_by("index"):
            name = f"media/cameos/{cameo.pk}/references/{ref.index}-{ref.role}{_media_name(ref.path, '.png')}"
            files.append(ExportFile(archive_path=name, storage_path=ref.path))
            references.append({"index": ref.index, "role": ref.role, "primary": ref.is_primary, "file": name})
        licence = getattr(cameo, "licence", None)
        cameos.append(
            {
                "id": cameo.pk,
                "kind": cameo.kind,
                "name": cameo.name,
                "display_name": cameo.display_name,
                "description": cameo.description,
                "aliases": cameo.aliases,
                "status": cameo.status,
                "rejection_code": cameo.rejection_code,
                "rejection_reason": cameo.rejection_reason,
                "settings": {
                    "audience": cameo.audience,
                    "instructions": cameo.instructions,
                    "restrictions": cameo.restrictions,
                },
                "access_list": [
                    {"handle": e.user.handle, "effect": e.effect, "since": e.created_at}
                    for e in CameoAccessEntry.objects.filter(cameo=cameo).select_related("user").order_by("pk")
                ],
                "requests_received": [
                    {
                        "from": r.requester.handle,
                        "message": r.message,
                        "status": r.status,
                        "created_at": r.created_at,
                        "decided_at": r.decided_at,
                    }
                    for r in CameoRequest.objects.filter(cameo=cameo).select_related("requester").order_by("pk")
                ],
                "appearances": [
                    {
                        "id": a.pk,
                        "video_id": a.video_id,
                        "creator": a.creator.handle,
                        "status": a.status,
                        "removed_reason": a.removed_reason,
                        "created_at": a.created_at,
                        "removed_at": a.removed_at,
                    }
                    for a in CameoAppearance.objects.filter(cameo=cameo).select_related("creator").order_by("pk")
                ],
                "licence": (
                    {
                        "fee_credits": licence.fee_credits,
                        "rights_holder_share_bps": licence.rights_holder_share_bps,
                        "allowed_themes": licence.allowed_themes,
                        "forbidden_themes": licence.forbidden_themes,
                    }
                    if licence is not None
                    else None
                ),
                "clip": clip,
                "references": references,
                "embedding_version": cameo.embedding_version,
                "embedding": cameo.embedding,
                "verification": cameo.verification,
                "created_at": cameo.created_at,
                "verified_at": cameo.verified_at,
                "revoked_at": cameo.revoked_at,
            }
        )
    requests_sent = [
        {
            "cameo_id": r.cameo_id,
            "cameo_owner": r.cameo.owner.handle,
            "message": r.message,
            "status": r.status,
            "created_at": r.created_at,
            "decided_at": r.decided_at,
        }
        for r in CameoRequest.objects.filter(requester=user).select_related("cameo__owner").order_by("pk")
    ]
    royalties = [
        {
            "party": e.party,
            "cameo_id": e.cameo_id,
            "entry_type": e.entry_type,
            "amount": e.amount,
            "job_id": e.job_id,
            "video_id": e.video_id,
            "created_at": e.created_at,
        }
        for e in RoyaltyEntry.objects.filter(account=user).order_by("pk")
    ]
    holder = RightsHolder.objects.filter(user=user).first()
    data = {
        "cameos": cameos,
        "requests_sent": requests_sent,
        "royalty_ledger": royalties,
        "rights_holder": (
            {"organisation": holder.organisation, "active": holder.is_active, "granted_at": holder.granted_at}
            if holder is not None
            else None
        ),
    }
    return [ExportSection(name="cameos", data=data, files=files)]
