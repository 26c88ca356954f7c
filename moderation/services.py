"""Write use-cases of the case layer: reports, cases, actions (the audit log) and appeals.

One transaction each. Content changes only through the owning app's services (targets.py);
people are told through `notify`, which delivers after commit; the banned-media hashing of a
removed video runs in a Celery task enqueued on commit.

Settings (all optional, read through django.conf.settings with these defaults):
    MODERATION_STRIKES_TO_SUSPEND      3    strikes within the window → automatic suspension
    MODERATION_STRIKE_WINDOW_DAYS      90   how long a strike counts
    MODERATION_STRIKE_SUSPENSION_DAYS  7    length of the automatic suspension
    MODERATION_SUSPENSION_DAYS         7    default length of a moderator's suspension
    MODERATION_APPEAL_WINDOW_DAYS      30   how long an action can be appealed
    MODERATION_CLAIM_MINUTES           15   how long a moderator's claim on a case lasts
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from moderation import selectors, targets
from moderation.constants import (
    ACTIONS_FOR_TARGET,
    APPEALABLE,
    CATEGORY_SEVERITY,
    SEVERITY,
    TARGET_LABELS,
    ActionKind,
    Reason,
    TargetType,
    reasons_for,
)
from moderation.models import (
    Action,
    Appeal,
    AppealStatus,
    Case,
    CaseSource,
    CaseStatus,
    Report,
    ReportStatus,
)
from moderation.presets import compose_reason, preset_get
from moderation.priority import case_priority, top_reason
from moderation.roles import is_moderator
from sora_social.common.errors import ApplicationError, Conflict, Forbidden, NotFound
from sora_social.notifications.services import notify
from sora_social.users.models import User

logger = logging.getLogger(__name__)

REPORT_TEXT_MAX = 1000
APPEAL_TEXT_MAX = 2000
REASON_MAX = 1000


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def strikes_to_suspend() -> int:
    return _setting("MODERATION_STRIKES_TO_SUSPEND", 3)


def strike_window() -> timedelta:
    return timedelta(days=_setting("MODERATION_STRIKE_WINDOW_DAYS", 90))


def appeal_window() -> timedelta:
    return timedelta(days=_setting("MODERATION_APPEAL_WINDOW_DAYS", 30))


def suspension_days_default() -> int:
    return _setting("MODERATION_SUSPENSION_DAYS", 7)


def claim_duration() -> timedelta:
    return timedelta(minutes=_setting("MODERATION_CLAIM_MINUTES", 15))


def appeal_path(action_id: int) -> str:
    return f"/api/v1/moderation/actions/{action_id}/appeal"


# --- reports and cases -----------------------------------------------------------------------


def _open_case_locked(*, target_type: str, target_id: int, subject: User | None) -> Case:
    """The object's open case, row-locked; opened here if there is none (one per object, which
    the database guarantees even when two reports race)."""
    case = Case.objects.select_for_update().filter(target_type=target_type, target_id=target_id, status="open").first()
    if case is not None:
        return case
    try:
        with transaction.atomic():
            return Case.objects.create(target_type=target_type, target_id=target_id, subject_user=subject)
    except IntegrityError:  # another report opened it between our read and insert
        return Case.objects.select_for_update().get(target_type=target_type, target_id=target_id, status="open")


def _case_recompute(case: Case) -> None:
    """Priority, top reason and reporter count from the case's reports and machine flags."""
    rows = list(case.reports.values_list("reporter_id", "reason"))
    reasons = [reason for _, reason in rows]
    reporters = len({reporter for reporter, _ in rows})
    machine = int(case.flags.get("severity", 0)) if case.flags else 0
    case.reporter_count = reporters
    case.priority = case_priority(reasons=reasons, distinct_reporters=max(1, reporters), machine_severity=machine)
    best = top_reason(reasons)
    if machine and (not best or machine > SEVERITY.get(best, 0)):
        best = Reason.MACHINE_FLAG
    case.top_reason = best
    if case.flags and reporters:
        case.source = CaseSource.BOTH
    elif case.flags:
        case.source = CaseSource.MACHINE
    else:
        case.source = CaseSource.REPORTS


@transaction.atomic
def report_create(*, reporter: User, target_type: str, target_id: int, reason: str, text: str = "") -> Report:
    """Report something the reporter can see. It joins the object's open case (opened if there
    is none), and the case's priority is worked out again from all its reports."""
    if target_type not in {t.value for t in TargetType}:
        raise ApplicationError(
            "invalid_target_type",
            f"target_type must be one of: {', '.join(t.value for t in TargetType)}.",
            fields={"target_type": ["Unknown target type."]},
        )
    allowed = reasons_for(target_type)
    if reason not in allowed:
        raise ApplicationError(
            "invalid_reason",
            f"reason must be one of: {', '.join(allowed)}.",
            fields={"reason": ["Not a reason for this kind of report."]},
        )
    text = " ".join((text or "").split())
    if len(text) > REPORT_TEXT_MAX:
        raise ApplicationError(
            "report_text_too_long", f"At most {REPORT_TEXT_MAX} characters.", fields={"text": ["Too long."]}
        )
    target = targets.target_for_reporter(reporter=reporter, target_type=target_type, target_id=target_id)
    if target.subject is not None and target.subject.pk == reporter.pk:
        raise ApplicationError("cannot_report_own", "You cannot report your own content or account.")
    case = _open_case_locked(target_type=target_type, target_id=target_id, subject=target.subject)
    if Report.objects.filter(reporter=reporter, target_type=target_type, target_id=target_id, status="open").exists():
        raise Conflict("already_reported", "You already reported this; it is waiting for a moderator.")
    try:
        with transaction.atomic():
            report = Report.objects.create(
                reporter=reporter, target_type=target_type, target_id=target_id, reason=reason, text=text, case=case
            )
    except IntegrityError as exc:
        raise Conflict("already_reported", "You already reported this; it is waiting for a moderator.") from exc
    case.last_reported_at = report.created_at
    _case_recompute(case)
    case.save(update_fields=["reporter_count", "priority", "top_reason", "source", "last_reported_at"])
    return report


def _machine_severity(policy: dict[str, Any]) -> int:
    severities = [
        CATEGORY_SEVERITY.get(str(verdict.get("category") or ""), SEVERITY[Reason.MACHINE_FLAG])
        for verdict in policy.values()
        if isinstance(verdict, dict)
    ]
    return max(severities, default=SEVERITY[Reason.MACHINE_FLAG])


@transaction.atomic
def case_open_for_policy_review(*, video_id: int, creator_id: int, job_id: int, policy: dict[str, Any]) -> Case:
    """A policy layer asked a person to look at a generated video: open (or join) its case.

    Registered with generation.ports.register_policy_review_handler; idempotent per job.
    """
    subject = User.objects.filter(pk=creator_id).first()
    case = _open_case_locked(target_type=TargetType.VIDEO, target_id=video_id, subject=subject)
    flags = dict(case.flags or {})
    jobs = {int(j) for j in flags.get("job_ids", [])}
    jobs.add(int(job_id))
    verdicts = dict(flags.get("verdicts", {}))
    verdicts.update(policy)
    case.flags = {
        "job_ids": sorted(jobs),
        "verdicts": verdicts,
        # The flagged categories, so the queue can filter on them in SQL (jsonb containment).
        "categories": sorted(
            {str(v.get("category")) for v in verdicts.values() if isinstance(v, dict) and v.get("category")}
        ),
        "severity": max(int(flags.get("severity", 0)), _machine_severity(policy)),
    }
    _case_recompute(case)
    case.save(update_fields=["flags", "reporter_count", "priority", "top_reason", "source"])
    return case


@transaction.atomic
def case_assign(*, case: Case, moderator: User | None, by: User) -> Case:
    """Take a case (moderator=by), hand it to another moderator, or release it (None)."""
    _require_moderator(by)
    if moderator is not None and not is_moderator(moderator):
        raise ApplicationError("not_a_moderator", f"@{moderator.handle} is not a moderator.")
    case = Case.objects.select_for_update().get(pk=case.pk)
    case.assigned_to = moderator
    case.save(update_fields=["assigned_to"])
    return case


# --- claims: one moderator works a case at a time ----------------------------------------------


def _claim_held_by_other(case: Case, moderator: User) -> bool:
    return (
        case.claimed_by_id is not None
        and case.claimed_by_id != moderator.pk
        and case.claimed_until is not None
        and case.claimed_until > timezone.now()
    )


def _refuse_if_claimed_by_other(case: Case, moderator: User) -> None:
    if _claim_held_by_other(case, moderator):
        until = case.claimed_until.astimezone(UTC).strftime("%H:%M")
        handle = case.claimed_by.handle if case.claimed_by else "another moderator"
        raise Conflict("case_claimed", f"@{handle} is working on this case (claimed until {until} UTC).")


def _claim_clear(case: Case) -> None:
    case.claimed_by = None
    case.claimed_until = None


@transaction.atomic
def case_claim(*, case: Case, moderator: User) -> Case:
    """Claim a waiting case for MODERATION_CLAIM_MINUTES (renewing one's own claim), so no other
    moderator works it meanwhile. Refused (409 case_claimed) while another moderator's claim
    runs; an expired claim is taken over."""
    _require_moderator(moderator)
    case = Case.objects.select_for_update(of=("self",)).select_related("claimed_by").get(pk=case.pk)
    if case.status not in selectors.QUEUE_STATUSES:
        raise Conflict("case_not_waiting", "This case is not waiting for a moderator.")
    _refuse_if_claimed_by_other(case, moderator)
    case.claimed_by = moderator
    case.claimed_until = timezone.now() + claim_duration()
    case.save(update_fields=["claimed_by", "claimed_until"])
    return case


@transaction.atomic
def case_release(*, case: Case, moderator: User) -> Case:
    """Give up one's claim (someone else's claim is left alone)."""
    _require_moderator(moderator)
    case = Case.objects.select_for_update(of=("self",)).get(pk=case.pk)
    if case.claimed_by_id == moderator.pk:
        _claim_clear(case)
        case.save(update_fields=["claimed_by", "claimed_until"])
    return case


@transaction.atomic
def case_claim_next(*, moderator: User, after: Case | None = None, **filters: Any) -> Case | None:
    """Claim the most urgent waiting case nobody else is working on (the queue's filters apply),
    skipping `after`. Rows another moderator is claiming at this very moment are skipped, not
    waited for, so two moderators pressing "next" together get different cases."""
    _require_moderator(moderator)
    now = timezone.now()
    rows = selectors.console_queue(viewer=moderator, **filters).filter(
        Q(claimed_by__isnull=True) | Q(claimed_by=moderator) | Q(claimed_until__lte=now)
    )
    if after is not None:
        rows = rows.exclude(pk=after.pk)
    # A moderator may not decide a case about themselves; do not hand them one.
    rows = rows.exclude(subject_user=moderator)
    for case_id in rows.values_list("pk", flat=True)[:20]:
        locked = (
            Case.objects.select_for_update(of=("self",), skip_locked=True)
            .filter(pk=case_id, status__in=selectors.QUEUE_STATUSES)
            .filter(Q(claimed_by__isnull=True) | Q(claimed_by=moderator) | Q(claimed_until__lte=now))
            .first()
        )
        if locked is not None:
            locked.claimed_by = moderator
            locked.claimed_until = now + claim_duration()
            locked.save(update_fields=["claimed_by", "claimed_until"])
            return locked
    return None


# --- actions ---------------------------------------------------------------------------------


def _require_moderator(user: User) -> None:
    if not is_moderator(user):
        raise Forbidden("not_a_moderator", "Only moderators can do this.")


def _clean_reason(reason: str) -> str:
    reason = " ".join((reason or "").split())
    if not reason:
        raise ApplicationError("reason_required", "Give a reason: the person affected reads it.")
    if len(reason) > REASON_MAX:
        raise ApplicationError("reason_too_long", f"A reason is at most {REASON_MAX} characters.")
    return reason


_SUBJECT_WORDS = {
    TargetType.POST: "your post",
    TargetType.COMMENT: "your comment",
    TargetType.VIDEO: "your video",
    TargetType.CAMEO: "videos featuring your cameo",
    TargetType.USER: "your account",
}


def _summary(action: Action, *, strikes: int | None = None) -> str:
    return decision_message(
        kind=action.kind,
        target_type=action.target_type,
        reason=action.reason,
        strikes=strikes,
        until=action.details.get("until", ""),
    )


def decision_message(*, kind: str, target_type: str, reason: str, strikes: int | None = None, until: str = "") -> str:
    """What the person a decision affects reads (the notification's summary). The console shows
    it before the moderator confirms."""
    what = _SUBJECT_WORDS.get(target_type, "your content")
    if kind == ActionKind.REMOVE:
        text = f"We removed {what}: {reason}"
    elif kind == ActionKind.AGE_RESTRICT:
        text = f"{what[0].upper()}{what[1:]} is now shown only to adults: {reason}"
    elif kind == ActionKind.WARN:
        text = f"A warning about {what}: {reason}"
    elif kind == ActionKind.STRIKE:
        text = f"A strike on your account ({strikes} of {strikes_to_suspend()} before a suspension): {reason}"
    elif kind == ActionKind.SUSPEND:
        text = f"Your account is suspended until {until[:16].replace('T', ' ')} UTC: {reason}"
    elif kind == ActionKind.BAN:
        text = f"Your account is banned: {reason}"
    elif kind == ActionKind.RESTORE:
        text = f"We reversed an earlier decision about {what}: {reason}"
    else:
        text = reason
    if kind in APPEALABLE:
        text += f" You can appeal once within {appeal_window().days} days."
    return text


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


_OUTCOMES = {
    ActionKind.REMOVE: ("removed", "removed it"),
    ActionKind.AGE_RESTRICT: ("age_restricted", "limited it to adults"),
    ActionKind.DISMISS: ("no_violation", "found it does not break our rules"),
}


def reporter_message(*, kind: str, target_type: str) -> str:
    """What each reporter reads about a case's first decision."""
    phrase = _OUTCOMES.get(kind, ("action_taken", "took action"))[1]
    what = TARGET_LABELS.get(target_type, target_type).lower()
    return f"We reviewed the {what} you reported and {phrase}. Thank you for reporting it."


def appeal_message(*, uphold: bool, reason: str) -> str:
    """What the appellant reads when their appeal is decided."""
    if uphold:
        return f"Your appeal was reviewed by another moderator and the decision stands: {reason}"
    return f"Your appeal was granted and the decision reversed: {reason}"


def _resolve_reports(case: Case, action: Action) -> None:
    """The case's first decision: its reports are resolved and each reporter hears the outcome
    (not which penalty the other person got: that is between them and us)."""
    outcome = _OUTCOMES.get(action.kind, ("action_taken", ""))[0]
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


def _last_live_action(*, kinds: Iterable[str], **filters: Any) -> Action | None:
    return (
        Action.objects.filter(kind__in=list(kinds), reversed_by__isnull=True, **filters)
        .order_by("-created_at", "-pk")
        .first()
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
    # warn and strike change nothing outside the log: a reversed strike stops counting.


def ban_source(action_id: int) -> str:
    return f"action:{action_id}"


def strikes_active(user: User | int) -> int:
    """Strikes within the window that no appeal or restore reversed."""
    user_id = user if isinstance(user, int) else user.pk
    return Action.objects.filter(
        subject_user_id=user_id,
        kind=ActionKind.STRIKE,
        reversed_by__isnull=True,
        created_at__gte=timezone.now() - strike_window(),
    ).count()


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
            reverses = _last_live_action(kinds=(ActionKind.SUSPEND, ActionKind.BAN), subject_user=subject)
        else:
            reverses = _last_live_action(
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
    days = _setting("MODERATION_STRIKE_SUSPENSION_DAYS", 7)
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


@transaction.atomic
def banned_media_add_for_action(*, action_id: int) -> int:
    """Put a removed video's frame hashes on the banned list (source "action:<id>"), so a
    re-upload or a regenerated copy is caught by the media check. Returns how many hashes.

    Skipped if the removal has been reversed meanwhile (an appeal won before this ran)."""
    from moderation.media import video_file_hashes
    from moderation.policy.services import banned_media_add

    action = Action.objects.filter(pk=action_id, kind=ActionKind.REMOVE).first()
    if action is None or Action.objects.filter(reverses_id=action_id).exists():
        return 0
    video_id = action.details.get("video_id") if action.target_type == TargetType.POST else action.target_id
    if action.target_type not in (TargetType.POST, TargetType.VIDEO) or not video_id:
        return 0
    from generation.models import Video

    video = Video.objects.filter(pk=video_id).first()
    if video is None or not video.file:
        return 0
    with video.file.open("rb") as handle:
        hashes = video_file_hashes(handle, frame_count=video.frame_count)
    if not hashes:
        return 0
    rows = banned_media_add(hashes=hashes, reason=action.reason, source=ban_source(action.pk))
    return len(rows)


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


# --- appeals ---------------------------------------------------------------------------------


@transaction.atomic
def appeal_create(*, action_id: int, appellant: User, text: str) -> Appeal:
    """The person an action affected asks for a second look: once per action, within the window.

    The case goes back to the queue (status "appealed", unassigned) for a different moderator.
    """
    action = Action.objects.select_related("case").filter(pk=action_id, subject_user_id=appellant.pk).first()
    if action is None:
        raise NotFound("No such decision.", code="action_not_found")
    if action.kind not in APPEALABLE:
        raise ApplicationError("not_appealable", "This decision is not one that can be appealed.")
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
        raise ApplicationError("appeal_window_closed", f"Decisions can be appealed within {appeal_window().days} days.")
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
