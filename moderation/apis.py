"""Thin REST views: reports and appeals for everyone; the queue, actions, appeal decisions and
metrics for moderators (staff in the `moderator` group, or superusers)."""

from __future__ import annotations

from datetime import UTC, datetime

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from moderation import selectors, services
from moderation.constants import ACTIONS_FOR_TARGET, REASON_LABELS, TargetType
from moderation.models import Appeal, Case, CaseStatus
from moderation.roles import is_moderator
from moderation.serializers import (
    ActionCreateInputSerializer,
    ActionOutputSerializer,
    AppealCreateInputSerializer,
    AppealDecisionInputSerializer,
    AppealOutputSerializer,
    CaseDetailOutputSerializer,
    CaseOutputSerializer,
    CaseQueueOutputSerializer,
    CaseReportOutputSerializer,
    DecisionOutputSerializer,
    MetricsOutputSerializer,
    ReportCreateInputSerializer,
    ReportOutputSerializer,
)
from sora_social.common.errors import ApplicationError, NotFound
from sora_social.common.pagination import page_payload, page_serializer, page_size_from, paginate_queryset
from sora_social.common.permissions import IsNotSuspended
from sora_social.common.schema import PAGE_PARAMS
from sora_social.common.throttling import UserRateThrottle
from sora_social.idempotency.apis import IDEMPOTENCY_KEY_PARAMETER, idempotent
from sora_social.users.authentication import BearerTokenAuthentication

TAGS = ["moderation"]
MODERATOR_TAGS = ["moderation (moderators)"]


class IsModerator(BasePermission):
    """Staff in the moderator group (or superusers); everyone else gets 403."""

    message = "Only moderators can do this."

    def has_permission(self, request, view) -> bool:
        return is_moderator(request.user)


class ReportThrottle(UserRateThrottle):
    """Reports per reporter: MODERATION_REPORT_RATE (default 30/hour). Reading one's own
    reports is not limited."""

    scope = "moderation_reports"

    def get_rate(self) -> str:
        return getattr(settings, "MODERATION_REPORT_RATE", "30/hour")

    def allow_request(self, request, view) -> bool:
        if request.method != "POST":
            return True
        return super().allow_request(request, view)


class ReportListCreateApi(APIView):
    permission_classes = [IsAuthenticated, IsNotSuspended]
    throttle_classes = [ReportThrottle]

    @extend_schema(
        request=ReportCreateInputSerializer,
        responses={
            201: ReportOutputSerializer,
            404: OpenApiResponse(description="The target does not exist, or the reporter cannot see it."),
            409: OpenApiResponse(description="already_reported: an open report by you on this target."),
            422: OpenApiResponse(
                description="invalid_reason (not a reason for this target_type), cannot_report_own, "
                "idempotency_key_reused"
            ),
            429: OpenApiResponse(description="Too many reports; retry_after_s says when to try again."),
        },
        tags=TAGS,
        summary="Report a post, comment, account, video or cameo misuse",
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = ReportCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        report = services.report_create(
            reporter=request.user,
            target_type=v["target_type"],
            target_id=v["target_id"],
            reason=v["reason"],
            text=v["text"],
        )
        return Response(ReportOutputSerializer(report).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=PAGE_PARAMS,
        responses=page_serializer(ReportOutputSerializer),
        tags=TAGS,
        summary="My reports and what became of them",
    )
    def get(self, request: Request) -> Response:
        rows, next_cursor = paginate_queryset(
            selectors.reports_of(reporter=request.user), request, ordering=("-created_at", "-id")
        )
        return Response(page_payload(request, ReportOutputSerializer(rows, many=True).data, next_cursor))


class DecisionListApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=PAGE_PARAMS,
        responses=page_serializer(DecisionOutputSerializer),
        tags=TAGS,
        summary="Moderation decisions about me (and whether I can still appeal them)",
    )
    def get(self, request: Request) -> Response:
        rows, next_cursor = paginate_queryset(
            selectors.decisions_about(user=request.user), request, ordering=("-created_at", "-id")
        )
        return Response(page_payload(request, DecisionOutputSerializer(rows, many=True).data, next_cursor))


class AppealCreateApi(APIView):
    # Suspended people may appeal (their suspension above all), so no IsNotSuspended here.
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=AppealCreateInputSerializer,
        responses={
            201: AppealOutputSerializer,
            404: OpenApiResponse(description="No decision about you with this id."),
            409: OpenApiResponse(description="already_appealed / already_reversed"),
            422: OpenApiResponse(description="not_appealable, appeal_window_closed, idempotency_key_reused"),
        },
        tags=TAGS,
        summary="Appeal a decision about you (once); a different moderator decides",
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
    )
    @idempotent
    def post(self, request: Request, action_id: int) -> Response:
        data = AppealCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        appeal = services.appeal_create(action_id=action_id, appellant=request.user, text=data.validated_data["text"])
        return Response(AppealOutputSerializer(appeal).data, status=status.HTTP_201_CREATED)


# --- moderators ------------------------------------------------------------------------------

QUEUE_LIMIT_DEFAULT = 50


class CaseQueueApi(APIView):
    permission_classes = [IsAuthenticated, IsModerator]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "status", str, enum=[s.value for s in CaseStatus], description="Default: open + appealed."
            ),
            OpenApiParameter("target_type", str, enum=[t.value for t in TargetType]),
            OpenApiParameter("reason", str, enum=list(REASON_LABELS)),
            OpenApiParameter("mine", bool, description="Only cases assigned to me."),
            OpenApiParameter("limit", int, description="How many from the top, 1–100 (default 50)."),
        ],
        responses=CaseQueueOutputSerializer,
        tags=MODERATOR_TAGS,
        summary="The case queue, most urgent first (priority + age)",
        description=(
            "The top of the queue, not a paged list: the order includes the age bonus, which grows "
            "while a moderator reads, so take the next cases from the top each time."
        ),
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        status_filter = params.get("status") or None
        if status_filter and status_filter not in CaseStatus.values:
            raise ApplicationError("invalid_status", f"status must be one of: {', '.join(CaseStatus.values)}.")
        rows = selectors.case_queue(
            status=status_filter,
            target_type=params.get("target_type") or None,
            reason=params.get("reason") or None,
            assigned_to=request.user if params.get("mine") in ("1", "true", "yes") else None,
        )
        limit = page_size_from(request, QUEUE_LIMIT_DEFAULT)
        return Response({"count": rows.count(), "results": CaseOutputSerializer(rows[:limit], many=True).data})


class CaseDetailApi(APIView):
    permission_classes = [IsAuthenticated, IsModerator]

    @extend_schema(
        responses=CaseDetailOutputSerializer,
        tags=MODERATOR_TAGS,
        summary="A case with its evidence",
    )
    def get(self, request: Request, case_id: int) -> Response:
        review = selectors.case_review(case=selectors.case_get(case_id=case_id))
        return Response(
            {
                "case": CaseOutputSerializer(review.case).data,
                "snapshot": review.snapshot,
                "video_id": review.video_id,
                "policy": review.policy,
                "reports": CaseReportOutputSerializer(review.reports, many=True).data,
                "actions": ActionOutputSerializer(review.actions, many=True).data,
                "pending_appeal": AppealOutputSerializer(review.pending_appeal).data if review.pending_appeal else None,
                "subject_strikes": review.history.strikes_active,
                "allowed_actions": list(ACTIONS_FOR_TARGET.get(review.case.target_type, ())),
            }
        )


class CaseActionCreateApi(APIView):
    permission_classes = [IsAuthenticated, IsModerator]

    @extend_schema(
        request=ActionCreateInputSerializer,
        responses={
            201: ActionOutputSerializer,
            403: OpenApiResponse(description="own_case / subject_is_staff"),
            409: OpenApiResponse(description="case_under_appeal / already_decided / nothing_to_restore"),
        },
        tags=MODERATOR_TAGS,
        summary="Take an action on a case (with a reason)",
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
    )
    @idempotent
    def post(self, request: Request, case_id: int) -> Response:
        case = Case.objects.filter(pk=case_id).first()
        if case is None:
            raise NotFound("case_not_found", "No such case.")
        data = ActionCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        action = services.action_take(
            case=case,
            moderator=request.user,
            kind=v["kind"],
            reason=v["reason"],
            suspend_days=v["suspend_days"],
            keep_video=v["keep_video"],
            preset=v["preset"],
        )
        return Response(ActionOutputSerializer(action).data, status=status.HTTP_201_CREATED)


class AppealDecisionApi(APIView):
    permission_classes = [IsAuthenticated, IsModerator]

    @extend_schema(
        request=AppealDecisionInputSerializer,
        responses={
            200: AppealOutputSerializer,
            403: OpenApiResponse(description="same_moderator: you took the decision appealed"),
            409: OpenApiResponse(description="appeal_decided"),
        },
        tags=MODERATOR_TAGS,
        summary="Decide an appeal (uphold, or overturn and restore)",
    )
    def post(self, request: Request, appeal_id: int) -> Response:
        appeal = Appeal.objects.filter(pk=appeal_id).first()
        if appeal is None:
            raise NotFound("appeal_not_found", "No such appeal.")
        data = AppealDecisionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        appeal = services.appeal_decide(
            appeal=appeal,
            moderator=request.user,
            uphold=data.validated_data["decision"] == "upheld",
            reason=data.validated_data["reason"],
        )
        return Response(AppealOutputSerializer(appeal).data)


def _parse_when(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parse_datetime(value)
    except ValueError:  # well formed but impossible (month 13)
        parsed = None
    if parsed is None:
        raise ApplicationError(f"invalid_{name}", f"{name} must be an ISO 8601 date-time.")
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, UTC)


class MetricsApi(APIView):
    # The console's session works here too (read-only GET, so no CSRF question); the console's
    # own metrics page renders the same selector.
    authentication_classes = [BearerTokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated, IsModerator]

    @extend_schema(
        parameters=[
            OpenApiParameter("period", str, enum=[*selectors.PERIODS, "all"], description="Default: week."),
            OpenApiParameter("since", datetime, description="Start (ISO 8601); overrides period."),
            OpenApiParameter("until", datetime, description="End (ISO 8601); default now."),
        ],
        responses=MetricsOutputSerializer,
        tags=MODERATOR_TAGS,
        summary="Queue length, time to decision, decisions per moderator",
    )
    def get(self, request: Request) -> Response:
        since, until, _ = metrics_window(request.query_params)
        return Response(MetricsOutputSerializer(selectors.moderation_metrics(since=since, until=until)).data)


def metrics_window(params) -> tuple[datetime, datetime, str]:
    """[since, until) from ?period=day|week|month|all (default week) or ?since=&until= (ISO 8601);
    the API and the console's metrics page read the same parameters the same way."""
    until = _parse_when(params.get("until"), "until") or timezone.now()
    since = _parse_when(params.get("since"), "since")
    period = ""
    if since is None:
        period = params.get("period") or "week"
        if period == "all":
            since = datetime(2000, 1, 1, tzinfo=UTC)
        elif period in selectors.PERIODS:
            since = until - selectors.PERIODS[period]
        else:
            raise ApplicationError("invalid_period", f"period must be one of: {', '.join(selectors.PERIODS)}, all.")
    if since >= until:
        raise ApplicationError("invalid_period", "since must be before until.")
    return since, until, period
