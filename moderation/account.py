"""What moderation's case layer exports when a user leaves (registered on users.ports in
ModerationConfig).

Nothing here is erased: reports a person filed feed cases that others' content was judged by,
and actions and appeals are an append-only audit trail (their foreign keys are PROTECT). The
rows stay and point at the deleted account's anonymous tombstone (see users.services.user_delete),
so the record keeps its shape and loses the identity.
"""

from __future__ import annotations

from collections.abc import Iterable

from moderation.models import Appeal, Report
from sora_social.users.models import User
from sora_social.users.ports import ExportSection


def moderation_export_for_account(*, user: User) -> Iterable[ExportSection]:
    reports = [
        {
            "id": r.pk,
            "target_type": r.target_type,
            "target_id": r.target_id,
            "reason": r.reason,
            "text": r.text,
            "status": r.status,
            "outcome": r.outcome,
            "created_at": r.created_at,
            "resolved_at": r.resolved_at,
        }
        for r in Report.objects.filter(reporter=user).order_by("pk")
    ]
    appeals = [
        {
            "id": a.pk,
            "action_id": a.action_id,
            "text": a.text,
            "status": a.status,
            "decision_reason": a.decision_reason,
            "created_at": a.created_at,
            "decided_at": a.decided_at,
        }
        for a in Appeal.objects.filter(appellant=user).order_by("pk")
    ]
    return [ExportSection(name="moderation", data={"reports_filed": reports, "appeals": appeals})]
