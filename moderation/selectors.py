"""Reads of the case layer: the queue, a case as a moderator reviews it, a person's own reports
and decisions, a user's moderation history, and the metrics a dashboard shows."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Case as CaseWhen
from django.db.models import (
    Count,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Cast, Extract, Least, Now
from django.utils import timezone

from moderation import targets
from moderation.constants import APPEALABLE, ActionKind, TargetType
from moderation.limits import appeal_window, strike_window
from moderation.models import Action, Appeal, AppealStatus, Case, CaseSource, CaseStatus, Report
from moderation.presets import LIKENESS_CATEGORIES, LIKENESS_REASONS, REASON_CATEGORIES, reasons_of_category
from moderation.priority import AGE_BONUS_MAX_HOURS
from sora_social.common.errors import NotFound
from sora_social.users.models import User

# Cases a moderator still has to do something about.
QUEUE_STATUSES = (CaseStatus.OPEN, CaseStatus.APPEALED)


def _queue_score() -> ExpressionWrapper:
    """priority + one point per hour waiting, capped (moderation/priority.py)."""
    hours = Cast(Extract(Now() - F("opened_at"), "epoch") / 3600, IntegerField())
    return ExpressionWrapper(F("priority") + Least(hours, Value(AGE_BONUS_MAX_HOURS)), output_field=IntegerField())


def cases_annotated() -> QuerySet[Case]:
    return Case.objects.select_related("subject_user", "assigned_to", "claimed_by").annotate(
        queue_score=_queue_score(), report_count=Count("reports", distinct=True)
    )


def case_queue(
    *,
    status: str | None = None,
    target_type: str | None = None,
    reason: str | None = None,
    assigned_to: User | None = None,
) -> QuerySet[Case]:
    """Cases waiting for a moderator (open, or appealed), most urgent first, oldest first on ties."""
    rows = cases_annotated()
    rows = rows.filter(status=status) if status else rows.filter(status__in=QUEUE_STATUSES)
    if target_type:
        rows = rows.filter(target_type=target_type)
    if reason:
        rows = rows.filter(Q(top_reason=reason) | Q(reports__reason=reason)).distinct()
    if assigned_to is not None:
        rows = rows.filter(assigned_to=assigned_to)
    return rows.order_by("-queue_score", "opened_at", "id")


def _claim_free(now: datetime, viewer: User | None) -> Q:
    free = Q(claimed_by__isnull=True) | Q(claimed_until__lte=now)
    return free | Q(claimed_by=viewer) if viewer is not None else free


def console_queue(
    *,
    viewer: User | None = None,
    category: str = "",
    source: str = "",
    target_type: str = "",
    likeness_first: bool = False,
    claim: str = "",
    status: str = "",
) -> QuerySet[Case]:
    """The console's queue: waiting cases most urgent first, with what a row shows at a glance
    (reports with their reporters, the pending appeal's time, whether it is about a likeness).

    category: a presets.CASE_CATEGORIES key, matched on the reports' reasons and the machine
    flags' categories; source: "reported" (any user report) or "machine" (a policy flag);
    likeness_first: complaints about someone's likeness on top; claim: "mine" (claimed by the
    viewer), "free" (nobody else's claim runs).
    """
    now = timezone.now()
    likeness_reports = Report.objects.filter(case=OuterRef("pk"), reason__in=LIKENESS_REASONS)
    likeness_flags = Q()
    for name in LIKENESS_CATEGORIES:
        likeness_flags |= Q(flags__categories__contains=[name])
    rows = (
        cases_annotated()
        .prefetch_related(
            Prefetch("reports", queryset=Report.objects.select_related("reporter").order_by("created_at"))
        )
        .annotate(
            appeal_at=Subquery(
                Appeal.objects.filter(action__case=OuterRef("pk"), status=AppealStatus.PENDING)
                .order_by("created_at")
                .values("created_at")[:1]
            ),
            is_likeness=CaseWhen(
                When(Exists(likeness_reports) | Q(top_reason__in=LIKENESS_REASONS) | likeness_flags, then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            ),
        )
    )
    rows = rows.filter(status=status) if status else rows.filter(status__in=QUEUE_STATUSES)
    if target_type:
        rows = rows.filter(target_type=target_type)
    if category:
        reasons = reasons_of_category(category)
        rows = rows.filter(
            Q(top_reason__in=reasons)
            | Exists(Report.objects.filter(case=OuterRef("pk"), reason__in=reasons))
            | Q(flags__categories__contains=[category])
        )
    if source == "reported":
        rows = rows.filter(source__in=[CaseSource.REPORTS, CaseSource.BOTH])
    elif source == "machine":
        rows = rows.filter(source__in=[CaseSource.MACHINE, CaseSource.BOTH])
    if claim == "mine" and viewer is not None:
        rows = rows.filter(claimed_by=viewer, claimed_until__gt=now)
    elif claim == "free":
        rows = rows.filter(_claim_free(now, viewer))
    order = ["-queue_score", "opened_at", "id"]
    return rows.order_by(*(["-is_likeness", *order] if likeness_first else order))


def case_categories(case: Case, *, report_reasons: list[str] | None = None) -> list[str]:
    """What a case is about, most telling first: the machine flags' categories, then the
    categories of its top reason and of its other reports' reasons (presets.REASON_CATEGORIES)."""
    found: list[str] = []
    flags = case.flags or {}
    verdicts = flags.get("verdicts", {}) if isinstance(flags, dict) else {}
    for verdict in verdicts.values():
        if isinstance(verdict, dict) and verdict.get("category"):
            found.append(str(verdict["category"]))
    if report_reasons is None:
        report_reasons = list(case.reports.order_by("created_at").values_list("reason", flat=True))
    for reason in [case.top_reason, *report_reasons]:
        found.extend(REASON_CATEGORIES.get(reason, ()))
    return list(dict.fromkeys(found))


def case_get(*, case_id: int) -> Case:
    case = cases_annotated().filter(pk=case_id).first()
    if case is None:
        raise NotFound("case_not_found", "No such case.")
    return case


def case_actions(case: Case) -> QuerySet[Action]:
    return (
        Action.objects.filter(case=case)
        .select_related("moderator", "subject_user", "appeal_made", "appeal_made__decided_by")
        .order_by("created_at", "pk")
    )


def pending_appeal_of(case: Case) -> Appeal | None:
    return (
        Appeal.objects.filter(action__case=case, status=AppealStatus.PENDING)
        .select_related("action", "action__moderator", "appellant")
        .first()
    )


def strikes_active(user: User | int) -> int:
    """Strikes within the window that no appeal or restore reversed."""
    user_id = user if isinstance(user, int) else user.pk
    return Action.objects.filter(
        subject_user_id=user_id,
        kind=ActionKind.STRIKE,
        reversed_by__isnull=True,
        created_at__gte=timezone.now() - strike_window(),
    ).count()


def last_live_action(*, kinds: Iterable[str], **filters: Any) -> Action | None:
    """The newest action of one of `kinds` matching `filters` that nothing has reversed (what
    a restore undoes)."""
    return (
        Action.objects.filter(kind__in=list(kinds), reversed_by__isnull=True, **filters)
        .order_by("-created_at", "-pk")
        .first()
    )


@dataclass
class SubjectHistory:
    user: User | None
    strikes_active: int
    actions: list[Action]
    other_cases: list[Case]
    counts: dict[str, int]


def subject_history(*, user: User | None, exclude_case: Case | None = None, limit: int = 20) -> SubjectHistory:
    """What moderation has decided about this person before: actions, live strikes, cases."""
    if user is None:
        return SubjectHistory(None, 0, [], [], {})
    actions = Action.objects.filter(subject_user=user).select_related("moderator", "case").order_by("-created_at")
    counts = dict(actions.order_by().values_list("kind").annotate(n=Count("pk")).values_list("kind", "n"))
    cases = Case.objects.filter(subject_user=user).order_by("-opened_at")
    if exclude_case is not None:
        cases = cases.exclude(pk=exclude_case.pk)
    return SubjectHistory(
        user=user,
        strikes_active=strikes_active(user),
        actions=list(actions[:limit]),
        other_cases=list(cases[:limit]),
        counts=counts,
    )


@dataclass
class CaseReview:
    """Everything the console shows side by side about one case."""

    case: Case
    target: targets.Target | None
    target_error: str
    snapshot: dict[str, Any]
    video_id: int | None
    video_status: str
    job: Any
    policy: dict[str, Any]
    cameos: list[dict[str, Any]]
    reports: list[Report]
    actions: list[Action]
    pending_appeal: Appeal | None
    history: SubjectHistory
    related_cases: list[Case]


def _cameos_featured(target: targets.Target, video_id: int | None, job: Any) -> list[dict[str, Any]]:
    from cameos.selectors import appearances_of_video

    seen: dict[int, dict[str, Any]] = {}
    if target.type == TargetType.CAMEO:
        cameo = target.obj
        seen[cameo.pk] = {"cameo": cameo, "source": "reported cameo", "status": cameo.status}
    if target.type == TargetType.POST:
        for link in target.obj.post_cameos.select_related("cameo__owner"):
            seen[link.cameo_id] = {"cameo": link.cameo, "source": "featured in the post", "status": link.cameo.status}
    if video_id is not None:
        for appearance in appearances_of_video(video_id=video_id):
            seen.setdefault(
                appearance.cameo_id,
                {"cameo": appearance.cameo, "source": "appears in the video", "status": appearance.status},
            )
    if job is not None:
        for link in job.job_cameos.all():
            seen.setdefault(link.cameo_id, {"cameo": link.cameo, "source": "in the prompt", "status": ""})
    return list(seen.values())


def case_review(*, case: Case) -> CaseReview:
    try:
        target = targets.target_resolve(target_type=case.target_type, target_id=case.target_id)
        error = ""
    except NotFound:
        target, error = None, f"The {case.target_type} no longer exists."
    video_id = targets.target_video_id(target) if target else None
    job = targets.generation_job_of_video(video_id)
    video_status = ""
    if video_id is not None:
        from generation.models import Video

        video_status = Video.objects.filter(pk=video_id).values_list("status", flat=True).first() or ""
    policy: dict[str, Any] = {}
    if job is not None and job.policy:
        policy.update(job.policy)
    if case.flags.get("verdicts"):
        policy.update({f"flagged: {k}": v for k, v in case.flags["verdicts"].items()})
    related = Case.objects.none()
    if target is not None and video_id is not None:
        from feed.models import Post

        post_ids = list(Post.objects.filter(video_id=video_id).values_list("pk", flat=True))
        related = Case.objects.filter(
            Q(target_type=TargetType.VIDEO, target_id=video_id) | Q(target_type=TargetType.POST, target_id__in=post_ids)
        ).exclude(pk=case.pk)
    return CaseReview(
        case=case,
        target=target,
        target_error=error,
        snapshot=targets.target_snapshot(target) if target else {},
        video_id=video_id,
        video_status=video_status,
        job=job,
        policy=policy,
        cameos=_cameos_featured(target, video_id, job) if target else [],
        reports=list(case.reports.select_related("reporter").order_by("created_at")),
        actions=list(case_actions(case)),
        pending_appeal=pending_appeal_of(case),
        history=subject_history(user=case.subject_user, exclude_case=case),
        related_cases=list(related.order_by("-opened_at")[:10]),
    )


def case_restorable(case: Case) -> bool:
    """Whether "restore" has anything to undo: a removal or age restriction of the target still in
    force (for an account: a suspension or ban), as services.action_take looks for it."""
    live = Action.objects.filter(reversed_by__isnull=True)
    if case.target_type == TargetType.USER:
        if case.subject_user_id is None:
            return False
        return live.filter(kind__in=[ActionKind.SUSPEND, ActionKind.BAN], subject_user_id=case.subject_user_id).exists()
    return live.filter(
        kind__in=[ActionKind.REMOVE, ActionKind.AGE_RESTRICT], target_type=case.target_type, target_id=case.target_id
    ).exists()


def case_video_id(*, case: Case) -> int | None:
    """The video a case is about (a post's video, or the video itself), for the console player."""
    try:
        target = targets.target_resolve(target_type=case.target_type, target_id=case.target_id)
    except NotFound:
        return None
    return targets.target_video_id(target)


# --- what people see of their own moderation -------------------------------------------------


def reports_of(*, reporter: User) -> QuerySet[Report]:
    return Report.objects.filter(reporter=reporter)


def decisions_about(*, user: User) -> QuerySet[Action]:
    """Decisions that affected `user` (never dismissals, which affect nobody)."""
    return (
        Action.objects.filter(subject_user=user)
        .exclude(kind=ActionKind.DISMISS)
        .select_related("appeal_made")
        .prefetch_related(Prefetch("reversed_by", queryset=Action.objects.only("pk", "reverses_id")))
    )


def action_is_appealable(action: Action) -> bool:
    return (
        action.kind in APPEALABLE
        and not hasattr(action, "appeal_made")
        and not action.reversed_by.all()
        and timezone.now() <= action.created_at + appeal_window()
    )


# --- metrics ---------------------------------------------------------------------------------

PERIODS = {"day": timedelta(days=1), "week": timedelta(days=7), "month": timedelta(days=30)}

# Time to decision percentiles reported (the API and the console's metrics page show the same).
DECISION_PERCENTILES = (0.5, 0.75, 0.9, 0.95, 0.99)

_DECISION_TIMES_SQL = """
SELECT count(*),
       percentile_cont(%(percentiles)s::float8[]) WITHIN GROUP (ORDER BY extract(epoch FROM decided_at - opened_at))
FROM moderation_case
WHERE decided_at IS NOT NULL AND decided_at >= %(since)s AND decided_at < %(until)s
"""

# How long the waiting cases have waited (now), for the queue's age.
_QUEUE_AGE_SQL = """
SELECT percentile_cont(ARRAY[0.5, 0.9]::float8[]) WITHIN GROUP (ORDER BY extract(epoch FROM %(now)s - opened_at))
FROM moderation_case
WHERE status IN ('open', 'appealed')
"""


def _percentile_key(p: float) -> str:
    return f"p{round(p * 100)}"


def _machine_layer_uphold(*, since: datetime, until: datetime) -> list[dict[str, Any]]:
    """For each machine layer that flagged videos for review: of its flagged cases first decided
    in the period, how many the moderator upheld (any decision but a dismissal)."""
    first_kind = Subquery(
        Action.objects.filter(case=OuterRef("pk"), moderator__isnull=False)
        .order_by("created_at", "pk")
        .values("kind")[:1]
    )
    rows = (
        Case.objects.filter(decided_at__gte=since, decided_at__lt=until)
        .exclude(flags={})
        .annotate(first_kind=first_kind)
        .values_list("flags", "first_kind")
    )
    per_layer: dict[str, dict[str, int]] = {}
    for flags, kind in rows:
        if not kind:
            continue
        layers = {
            str(verdict.get("layer") or name)
            for name, verdict in (flags or {}).get("verdicts", {}).items()
            if isinstance(verdict, dict)
        }
        for layer in layers:
            counts = per_layer.setdefault(layer, {"flagged": 0, "upheld": 0})
            counts["flagged"] += 1
            counts["upheld"] += int(kind != ActionKind.DISMISS)
    return [
        {
            "layer": layer,
            "flagged_cases_decided": c["flagged"],
            "upheld": c["upheld"],
            "dismissed": c["flagged"] - c["upheld"],
            "uphold_rate": round(c["upheld"] / c["flagged"], 4),
        }
        for layer, c in sorted(per_layer.items())
    ]


def _decisions_per_category(actions: QuerySet[Action]) -> dict[str, int]:
    """Moderators' own decisions (not appeal restores nor automatic ones) by what they were
    about: the preset's category, else the case's (recorded on the action)."""
    from moderation.presets import REASON_CATEGORIES as by_reason

    counts: dict[str, int] = {}
    decided = actions.filter(moderator__isnull=False, appeal__isnull=True)
    for category, top_reason, n in (
        decided.values_list("details__category", "case__top_reason").annotate(n=Count("pk")).order_by()
    ):
        name = category or (by_reason.get(top_reason) or ("other",))[0]
        counts[name] = counts.get(name, 0) + n
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def moderation_metrics(*, since: datetime, until: datetime) -> dict[str, Any]:
    """Queue length now; decisions, median time to decision and decisions per moderator in
    [since, until)."""
    now = timezone.now()
    queue = Case.objects.filter(status__in=QUEUE_STATUSES)
    by_status = dict(queue.values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
    by_target = dict(queue.values_list("target_type").annotate(n=Count("pk")).values_list("target_type", "n"))
    oldest = queue.order_by("opened_at").values_list("opened_at", flat=True).first()
    with connection.cursor() as cursor:
        cursor.execute(_DECISION_TIMES_SQL, {"since": since, "until": until, "percentiles": list(DECISION_PERCENTILES)})
        decided, percentiles = cursor.fetchone()
        cursor.execute(_QUEUE_AGE_SQL, {"now": now})
        (queue_ages,) = cursor.fetchone()
    time_to_decision = {
        _percentile_key(p): (round(v, 1) if v is not None else None)
        for p, v in zip(DECISION_PERCENTILES, percentiles or [None] * len(DECISION_PERCENTILES), strict=True)
    }
    queue_ages = queue_ages or [None, None]
    actions = Action.objects.filter(created_at__gte=since, created_at__lt=until)
    appeals = Appeal.objects.filter(decided_at__gte=since, decided_at__lt=until)
    by_kind = dict(actions.values_list("kind").annotate(n=Count("pk")).values_list("kind", "n"))
    # A decision is an action, or an appeal decided (its restore action, if any, is not counted twice).
    per_moderator: dict[int, dict[str, Any]] = {}
    own_actions = actions.filter(moderator__isnull=False, appeal__isnull=True)
    for moderator_id, handle, n in own_actions.values_list("moderator_id", "moderator__handle").annotate(n=Count("pk")):
        per_moderator[moderator_id] = {"moderator_id": moderator_id, "handle": handle, "actions": n, "appeals": 0}
    for moderator_id, handle, n in (
        appeals.filter(decided_by__isnull=False)
        .values_list("decided_by_id", "decided_by__handle")
        .annotate(n=Count("pk"))
    ):
        row = per_moderator.setdefault(
            moderator_id, {"moderator_id": moderator_id, "handle": handle, "actions": 0, "appeals": 0}
        )
        row["appeals"] = n
    for row in per_moderator.values():
        row["decisions"] = row["actions"] + row["appeals"]
    appeals_decided = appeals.count()
    appeals_overturned = appeals.filter(status=AppealStatus.OVERTURNED).count()
    return {
        "since": since,
        "until": until,
        "queue_length": sum(by_status.values()),
        "queue_by_status": {s: by_status.get(s, 0) for s in QUEUE_STATUSES},
        "queue_by_target_type": by_target,
        "oldest_waiting_s": round((now - oldest).total_seconds(), 1) if oldest else None,
        "median_waiting_s": round(queue_ages[0], 1) if queue_ages[0] is not None else None,
        "p90_waiting_s": round(queue_ages[1], 1) if queue_ages[1] is not None else None,
        "cases_decided": decided or 0,
        "median_time_to_decision_s": time_to_decision["p50"],
        "p90_time_to_decision_s": time_to_decision["p90"],
        "time_to_decision_s": time_to_decision,
        "decisions_per_category": _decisions_per_category(actions),
        "decisions_per_moderator": sorted(per_moderator.values(), key=lambda r: (-r["decisions"], r["handle"])),
        "actions_by_kind": by_kind,
        "automatic_actions": actions.filter(moderator__isnull=True).count(),
        "appeals_decided": appeals_decided,
        "appeals_overturned": appeals_overturned,
        "appeal_overturn_rate": round(appeals_overturned / appeals_decided, 4) if appeals_decided else None,
        "machine_layers": _machine_layer_uphold(since=since, until=until),
    }
