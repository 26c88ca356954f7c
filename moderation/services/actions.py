"""Actions, the audit log: a moderator's decision on a case, made through the owning app's
services (targets.py), told to the person it affects and, on a case's first decision, to its
reporters.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from moderation import selectors, targets
from moderation.constants import ACTIONS_FOR_TARGET, APPEALABLE, ActionKind, TargetType
from moderation.limits import (
    appeal_window,
    strike_suspension_days,
    strike_window,
    strikes_to_suspend,
    suspension_days_default,
)
from moderation.models import Action, Appeal, Case, CaseStatus, Report, ReportStatus
from moderation.notices import appeal_path, decision_message, report_outcome, reporter_message
from moderation.presets import compose_reason, preset_get
from moderation.selectors import last_live_action, strikes_active
from moderation.services.banned_media import ban_source
from moderation.services.checks import _clean_reason, _require_moderator
from moderation.services.claims import _claim_clear, _refuse_if_claimed_by_other
from sora_social.common.errors import ApplicationError, Conflict, Forbidden
from sora_social.notifications.services import notify
from sora_social.users.models import User


def _summary(action: Action, *, strikes: int | None = None) -> str:
    return decision_message(
        kind=action.kind,
        target_type=action.target_type,
        reason=action.reason,
        strikes=strikes,
        until=action.details.get("until", ""),
    )


def _notify_subject(action: Action, *, strikes: int | None = None) -> None:
    if action.subject_user is None or action.kind == ActionKind.DISMISS:
        return
    appealable = action.kind in APPEALABLE
    notify(
        recipient=action.subject_user,
        kind="moderation_decision",
        data={
            "summary": _summary(action, strikes=strikes),
            "action_id": action.pk,
            "case_id": action.case_id,
            "action": action.kind,
            "reason": action.reason,
            "target_type": action.target_type,
            "target_id": action.target_id,
            "appealable": appealable,
            "appeal_url": appeal_path(action.pk) if appealable else None,
            "appeal_deadline": (action.created_at + appeal_window()).isoformat() if appealable else None,
        },
        # Not the post itself: a removal hides every notification about the post, and this
        # one must stay visible to its author.
        target=("moderation_action", action.pk),
    )


def _resolve_reports(case: Case, action: Action) -> None:
    """The case's first decision: its reports are resolved and each reporter hears the outcome
    (not which penalty the other person got: that is between them and us)."""
    outcome = report_outcome(action.kind)
    summary = reporter_message(kind=action.kind, target_type=case.target_type)
    now = timezone.now()
    reports = list(case.reports.filter(status=ReportStatus.OPEN).select_related("reporter"))
    Report.objects.filter(pk__in=[r.pk for r in reports]).update(
        status=ReportStatus.RESOLVED, outcome=outcome, resolved_at=now
    )
    for report in reports:
        notify(
            recipient=report.reporter,
            kind="moderation_decision",
            data={
                "summary": summary,
                "report_id": report.pk,
                "case_id": case.pk,
                "outcome": outcome,
            },
            target=("moderation_report", report.pk),
        )


def _undo(action: Action) -> None:
    """Undo what `action` did to content or an account (its details say exactly what)."""
    from moderation.policy.services import banned_media_remove

    subject = User.objects.filter(pk=action.subject_user_id).first()
    if action.kind == ActionKind.REMOVE:
        target = targets.target_resolve(target_type=action.target_type, target_id=action.target_id)
        targets.content_restore(target=target, details=action.details)
        banned_media_remove(source=ban_source(action.pk))
    elif action.kind == ActionKind.AGE_RESTRICT:
        if action.details.get("enforced"):
            target = targets.target_resolve(target_type=action.target_type, target_id=action.target_id)
            targets.content_age_restrict(target=target, restricted=False, reason="Restriction lifted.", by=None)
    elif action.kind == ActionKind.SUSPEND and subject is not None:
        targets.account_lift_suspension(user=subject)
    elif action.kind == ActionKind.BAN and subject is not None:
        targets.account_reinstate(user=subject)


def _record(
    *,
    case: Case,
    moderator: User | None,
    kind: str,
    reason: str,
    target: targets.Target,
    snapshot: dict[str, Any],
    details: dict[str, Any] | None = None,
    reverses: Action | None = None,
    appeal: Appeal | None = None,
) -> Action:
    return Action.objects.create(
        case=case,
        moderator=moderator,
        kind=kind,
        reason=reason,
        target_type=case.target_type,
        target_id=case.target_id,
        subject_user=target.subject,
        snapshot=snapshot,
        details=details or {},
        reverses=reverses,
        appeal=appeal,
    )


@transaction.atomic
def action_take(
    *,
    case: Case,
    moderator: User,
    kind: str,
    reason: str,
    suspend_days: int | None = None,
    keep_video: bool = False,
    preset: str = "",
) -> Action:
    """A moderator decides: remove, restore, age-restrict, warn, strike, suspend, ban or dismiss.

    With a `preset` (moderation/presets.py) the person reads the preset's message, followed by
    `reason` if the moderator added words of their own; without one, `reason` is required.
    The action is appended to the audit log with the target as it was, the change is made
    through the owning app's service, the affected person is told (with how to appeal), and
    on a case's first decision its reporters hear the outcome. Refused while another
    moderator's claim on the case runs.
    """
    _require_moderator(moderator)
    chosen = None
    if preset:
        chosen = preset_get(preset)
        if chosen is None:
            raise ApplicationError("unknown_preset", f"No reason preset {preset!r}.", fields={"preset": ["Unknown."]})
        if chosen.kind != kind:
            raise ApplicationError(
                "preset_kind_mismatch", f"The preset {preset!r} is for {chosen.kind!r}, not {kind!r}."
            )
        reason = compose_reason(preset=chosen, extra=reason)
    reason = _clean_reason(reason)
    case = Case.objects.select_for_update(of=("self",)).select_related("claimed_by").get(pk=case.pk)
    _refuse_if_claimed_by_other(case, moderator)
    if kind not in ACTIONS_FOR_TARGET.get(case.target_type, ()):
        raise ApplicationError(
            "action_not_allowed",
            f"{kind!r} is not an action for a {case.target_type}: "
            f"{', '.join(ACTIONS_FOR_TARGET.get(case.target_type, ()))}.",
        )
    if case.status == CaseStatus.APPEALED:
        raise Conflict("case_under_appeal", "An appeal on this case is waiting; decide it first.")
    if kind == ActionKind.DISMISS and case.status != CaseStatus.OPEN:
        raise Conflict("already_decided", "Only an open case can be dismissed.")
    target = targets.target_resolve(target_type=case.target_type, target_id=case.target_id)
    subject = target.subject
    if subject is not None and subject.pk == moderator.pk:
        raise Forbidden("own_case", "You cannot decide a case about yourself; another moderator must.")
    if (
        kind in (ActionKind.STRIKE, ActionKind.SUSPEND, ActionKind.BAN)
        and subject is not None
        and subject.is_staff
        and not moderator.is_superuser
    ):
        raise Forbidden("subject_is_staff", "Staff accounts are disciplined by an administrator, not a moderator.")
    if kind in (ActionKind.STRIKE, ActionKind.SUSPEND, ActionKind.BAN, ActionKind.WARN) and subject is None:
        raise ApplicationError("no_account", "Nobody's account is behind this object.")
    snapshot = targets.target_snapshot(target)

    details: dict[str, Any] = {}
    reverses: Action | None = None
    video_to_ban: int | None = None
    if kind == ActionKind.REMOVE:
        effect = targets.content_remove(target=target, reason=reason, by=moderator, keep_video=keep_video)
        details, video_to_ban = effect.details, effect.video_to_ban
    elif kind == ActionKind.RESTORE:
        if case.target_type == TargetType.USER:
            reverses = last_live_action(kinds=(ActionKind.SUSPEND, ActionKind.BAN), subject_user=subject)
        else:
            reverses = last_live_action(
                kinds=(ActionKind.REMOVE, ActionKind.AGE_RESTRICT),
                target_type=case.target_type,
                target_id=case.target_id,
            )
        if reverses is None:
            raise Conflict("nothing_to_restore", "No removal or restriction of this is in force.")
        _undo(reverses)
        details = {"reversed_action": reverses.pk, "reversed_kind": reverses.kind}
    elif kind == ActionKind.AGE_RESTRICT:
        details = targets.content_age_restrict(target=target, restricted=True, reason=reason, by=moderator).details
    elif kind == ActionKind.SUSPEND:
        days = suspend_days or suspension_days_default()
        if not 1 <= days <= 3650:
            raise ApplicationError("invalid_suspend_days", "A suspension lasts 1 to 3650 days.")
        until = timezone.now() + timedelta(days=days)
        targets.account_suspend(user=subject, until=until)
        details = {"until": until.isoformat(), "days": days}
    elif kind == ActionKind.BAN:
        targets.account_ban(user=subject)
        details = {"banned": True}
    # What the decision was about, for the metrics (decisions per category) and the console.
    details["category"] = chosen.category if chosen else (selectors.case_categories(case) or ["other"])[0]
    if chosen:
        details["preset"] = chosen.code

    action = _record(
        case=case,
        moderator=moderator,
        kind=kind,
        reason=reason,
        target=target,
        snapshot=snapshot,
        details=details,
        reverses=reverses,
    )
    strikes = strikes_active(subject) if kind == ActionKind.STRIKE and subject is not None else None
    _notify_subject(action, strikes=strikes)

    first_decision = case.status == CaseStatus.OPEN
    if first_decision:
        case.status = CaseStatus.DECIDED
        case.decided_at = action.created_at
        _resolve_reports(case, action)
    if case.assigned_to_id is None:
        case.assigned_to = moderator
    _claim_clear(case)  # decided: it leaves the queue, and the claim with it
    case.save(update_fields=["status", "decided_at", "assigned_to", "claimed_by", "claimed_until"])

    if strikes is not None and strikes >= strikes_to_suspend():
        _suspend_for_strikes(case=case, target=target, strikes=strikes)
    if video_to_ban is not None:
        _ban_media_on_commit(action.pk)
    return action


def _suspend_for_strikes(*, case: Case, target: targets.Target, strikes: int) -> Action:
    """The system's own action: enough strikes within the window suspend the account."""
    days = strike_suspension_days()
    until = timezone.now() + timedelta(days=days)
    targets.account_suspend(user=target.subject, until=until)
    action = _record(
        case=case,
        moderator=None,
        kind=ActionKind.SUSPEND,
        reason=(
            f"{strikes} strikes within {strike_window().days} days: the account is suspended "
            f"automatically for {days} days."
        ),
        target=target,
        snapshot=targets.target_snapshot(target),
        details={"until": until.isoformat(), "days": days, "automatic": True, "strikes": strikes},
    )
    _notify_subject(action)
    return action


def _ban_media_on_commit(action_id: int) -> None:
    from sora_social.outbox.services import outbox_send_on_commit

    outbox_send_on_commit(task="moderation.banned_media_from_action", args=[action_id])


@dataclass
class BulkResult:
    done: list[Action]
    skipped: list[tuple[Case, str]]


def actions_take_bulk(
    *, cases: Iterable[Case], moderator: User, kind: str, reason: str, keep_video: bool = False
) -> BulkResult:
    """The same action on many cases (the console's bulk actions). Each case is its own
    transaction: one that cannot take the action (under appeal, wrong type) is skipped and
    reported, the others go ahead."""
    _require_moderator(moderator)
    reason = _clean_reason(reason)
    result = BulkResult(done=[], skipped=[])
    for case in cases:
        try:
            result.done.append(
                action_take(case=case, moderator=moderator, kind=kind, reason=reason, keep_video=keep_video)
            )
        except ApplicationError as exc:
            result.skipped.append((case, exc.message))
    return result
