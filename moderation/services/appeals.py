"""Appeals: the person an action affected asks once for a second look, by another moderator."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from moderation import targets
from moderation.constants import APPEALABLE, ActionKind
from moderation.limits import APPEAL_TEXT_MAX, appeal_window
from moderation.models import Action, Appeal, AppealStatus, Case, CaseStatus
from moderation.notices import appeal_message
from moderation.services.actions import _record, _undo
from moderation.services.checks import _clean_reason, _require_moderator
from moderation.services.claims import _claim_clear, _refuse_if_claimed_by_other
from sora_social.common.errors import ApplicationError, Conflict, Forbidden, NotFound
from sora_social.notifications.services import notify
from sora_social.users.models import User


@transaction.atomic
def appeal_create(*, action_id: int, appellant: User, text: str) -> Appeal:
    """The person an action affected asks for a second look: once per action, within the window.

    The case goes back to the queue (status "appealed", unassigned) for a different moderator.
    """
    action = Action.objects.select_related("case").filter(pk=action_id, subject_user_id=appellant.pk).first()
    if action is None:
        raise NotFound("action_not_found", "No such decision.")
    if action.kind not in APPEALABLE:
        # 422, as the window below: what the decision was, no schema can state.
        raise ApplicationError("not_appealable", "This decision is not one that can be appealed.", status_code=422)
    text = (text or "").strip()
    if not text:
        raise ApplicationError("appeal_text_required", "Say why the decision is wrong.", fields={"text": ["Required."]})
    if len(text) > APPEAL_TEXT_MAX:
        raise ApplicationError("appeal_text_too_long", f"At most {APPEAL_TEXT_MAX} characters.")
    if Appeal.objects.filter(action=action).exists():
        raise Conflict("already_appealed", "This decision was appealed already; each decision can be appealed once.")
    if Action.objects.filter(reverses=action).exists():
        raise Conflict("already_reversed", "This decision has already been reversed.")
    if timezone.now() > action.created_at + appeal_window():
        raise ApplicationError(
            "appeal_window_closed", f"Decisions can be appealed within {appeal_window().days} days.", status_code=422
        )
    case = Case.objects.select_for_update().get(pk=action.case_id)
    try:
        with transaction.atomic():
            appeal = Appeal.objects.create(
                action=action, appellant=appellant, text=text, acted_by_id=action.moderator_id
            )
    except IntegrityError as exc:
        raise Conflict("already_appealed", "This decision was appealed already.") from exc
    case.status = CaseStatus.APPEALED
    case.assigned_to = None  # the moderator who acted may not decide it
    _claim_clear(case)
    case.save(update_fields=["status", "assigned_to", "claimed_by", "claimed_until"])
    return appeal


@transaction.atomic
def appeal_decide(*, appeal: Appeal, moderator: User, uphold: bool, reason: str) -> Appeal:
    """A moderator other than the one who acted decides an appeal. Overturned: the action is
    undone (a restore action, linked to the appeal, joins the audit log). Either way the
    appellant is told, and the case is closed once none of its appeals is pending."""
    _require_moderator(moderator)
    reason = _clean_reason(reason)
    appeal = Appeal.objects.select_for_update().select_related("action", "action__case").get(pk=appeal.pk)
    action = appeal.action
    if appeal.status != AppealStatus.PENDING:
        raise Conflict("appeal_decided", "This appeal has been decided.")
    if action.moderator_id is not None and action.moderator_id == moderator.pk:
        raise Forbidden("same_moderator", "You took this decision; a different moderator must decide its appeal.")
    if appeal.appellant_id == moderator.pk:
        raise Forbidden("own_appeal", "You cannot decide your own appeal.")
    now = timezone.now()
    case = Case.objects.select_for_update(of=("self",)).select_related("claimed_by").get(pk=action.case_id)
    _refuse_if_claimed_by_other(case, moderator)
    appeal.status = AppealStatus.UPHELD if uphold else AppealStatus.OVERTURNED
    appeal.decided_by = moderator
    appeal.decision_reason = reason
    appeal.decided_at = now
    appeal.save(update_fields=["status", "decided_by", "decision_reason", "decided_at"])

    summary = appeal_message(uphold=uphold, reason=reason)
    if not uphold:
        if Action.objects.filter(reverses=action).exists():
            raise Conflict("already_reversed", "This decision has already been reversed.")
        _undo(action)
        target = targets.target_resolve(target_type=action.target_type, target_id=action.target_id)
        _record(
            case=case,
            moderator=moderator,
            kind=ActionKind.RESTORE,
            reason=reason,
            target=target,
            snapshot=targets.target_snapshot(target),
            details={"reversed_action": action.pk, "reversed_kind": action.kind, "appeal_id": appeal.pk},
            reverses=action,
            appeal=appeal,
        )
    notify(
        recipient=appeal.appellant,
        kind="moderation_decision",
        data={
            "summary": summary,
            "appeal_id": appeal.pk,
            "action_id": action.pk,
            "case_id": case.pk,
            "outcome": appeal.status,
            "reason": reason,
        },
        target=("moderation_appeal", appeal.pk),
    )
    _claim_clear(case)
    if not Appeal.objects.filter(action__case=case, status=AppealStatus.PENDING).exists():
        case.status = CaseStatus.CLOSED
        case.closed_at = now
    case.save(update_fields=["status", "closed_at", "claimed_by", "claimed_until"])
    return appeal
