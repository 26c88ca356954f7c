"""Reports and cases: a report joins its object's one open case; policy layers open cases too."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from moderation import targets
from moderation.constants import CATEGORY_SEVERITY, SEVERITY, Reason, TargetType, reasons_for
from moderation.limits import REPORT_TEXT_MAX
from moderation.models import Case, CaseSource, Report
from moderation.priority import case_priority, top_reason
from moderation.roles import is_moderator
from moderation.services.checks import _require_moderator
from sora_social.common.errors import ApplicationError, Conflict
from sora_social.users.models import User


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
            # 422: each value is in the schema's enum; this one does not go with this target_type.
            status_code=422,
        )
    text = " ".join((text or "").split())
    if len(text) > REPORT_TEXT_MAX:
        raise ApplicationError(
            "report_text_too_long", f"At most {REPORT_TEXT_MAX} characters.", fields={"text": ["Too long."]}
        )
    target = targets.target_for_reporter(reporter=reporter, target_type=target_type, target_id=target_id)
    if target.subject is not None and target.subject.pk == reporter.pk:
        # 422: the request is schema-valid; whose the target is, no schema can state.
        raise ApplicationError("cannot_report_own", "You cannot report your own content or account.", status_code=422)
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
