"""Thin REST views for generation jobs, drafts and credits (/api/v1/generations, /drafts, /credits)."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from generation import credits, jobs, selectors
from generation.apis import VideoOutputSerializer, video_data
from generation.demo_domain import job_notice
from generation.models import CreditEntryKind, CreditPool, GenerationJob, JobKind
from sora_social.apikeys.authentication import request_api_key
from sora_social.common.pagination import page_payload, page_serializer, paginate_queryset
from sora_social.common.permissions import IsNotSuspended, IsStaff
from sora_social.common.schema import PAGE_PARAMS, enum_field
from sora_social.common.serializers import InputSerializer
from sora_social.users.selectors import user_get_visible


@extend_schema_field({"type": "integer", "enum": list(jobs.SECONDS_CHOICES), "default": 4})
class SecondsField(serializers.IntegerField):
    """4, 8 or 12, as the schema says; the service refuses anything else (invalid_seconds)."""


@extend_schema_field({"type": "string", "enum": ["", *settings.GENERATION_SIZES], "default": ""})
class SizeField(serializers.CharField):
    """One of the sizes served, or "" for the default; the service refuses others (invalid_size)."""


class GenerationInputSerializer(InputSerializer):
    prompt = serializers.CharField(max_length=2000, trim_whitespace=True)
    cameos = serializers.ListField(
        child=serializers.CharField(max_length=40),
        required=False,
        default=list,
        max_length=2,
        help_text='Cameo ids or "@handle"s (at most two). @mentions in the prompt are added too.',
    )
    remix_of = serializers.IntegerField(required=False, allow_null=True, help_text="A post to remix.")
    remix_strength = serializers.FloatField(required=False, min_value=0.0, max_value=1.0)
    seconds = SecondsField(required=False, default=4, help_text="4, 8 or 12")
    size = SizeField(required=False, default="", allow_blank=True, help_text="e.g. 720x1280; empty: the default")
    seed = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=2**31 - 1)


class JobErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class JobCameoSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    display_name = serializers.CharField()
    inherited = serializers.BooleanField(help_text="Shown because the video this is made from shows it, not named.")


class JobNoticeSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="e.g. demo_model_out_of_domain")
    message = serializers.CharField()


class GenerationOutputSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="The job's public id (also its id in /v1/videos).")
    kind = enum_field("GenerationKind", JobKind.choices)
    status = serializers.ChoiceField(choices=["queued", "running", "succeeded", "failed", "cancelled", "blocked"])
    progress = serializers.IntegerField()
    error = JobErrorSerializer(allow_null=True)
    prompt = serializers.CharField()
    seconds = serializers.IntegerField()
    size = serializers.CharField()
    seed = serializers.IntegerField()
    cameos = JobCameoSerializer(many=True)
    remix_of_post_id = serializers.IntegerField(allow_null=True)
    source_video_id = serializers.IntegerField(allow_null=True)
    video = VideoOutputSerializer(allow_null=True)
    credits_cost = serializers.IntegerField()
    backend = serializers.CharField()
    model = serializers.CharField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    notice = JobNoticeSerializer(
        allow_null=True,
        help_text="Something to know about the result, e.g. that the built-in demo model cannot draw this prompt.",
    )


def job_data(job: GenerationJob, request: Request) -> dict:
    video = job.result_video
    return {
        "id": job.public_id,
        "kind": job.kind,
        "status": job.status,
        "progress": job.progress,
        "error": {"code": job.error_code, "message": job.error_message} if job.error_code else None,
        "prompt": job.prompt,
        "seconds": job.seconds,
        "size": job.size,
        "seed": job.seed,
        "cameos": [
            {
                "id": link.cameo_id,
                "name": link.cameo.name,
                "display_name": link.cameo.display_name,
                "inherited": link.inherited,
            }
            for link in job.job_cameos.all()
        ],
        "remix_of_post_id": job.remix_parent_post_id,
        "source_video_id": job.source_video_id,
        "video": video_data(video, viewer_id=request.user.pk, request=request)
        if video is not None and job.status == "succeeded"
        else None,
        "credits_cost": job.credits_cost,
        "backend": job.backend,
        "model": job.model,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "notice": job_notice(job.notices),
    }


REFUSALS = {
    400: OpenApiResponse(
        description="invalid input: prompt_required, invalid_seconds, invalid_size, too_many_cameos (listed)"
    ),
    402: OpenApiResponse(description="insufficient_credits"),
    403: OpenApiResponse(description="cameo_permission_denied, remix_not_allowed"),
    404: OpenApiResponse(description="cameo_not_found, post_not_found"),
    422: OpenApiResponse(
        description="prompt_blocked, cameo_restriction, idempotency_key_reused, too_many_cameos (with @mentions)"
    ),
    429: OpenApiResponse(description="too_many_jobs_in_flight"),
}


class GenerationListCreateApi(APIView):
    permission_classes = [IsAuthenticated, IsNotSuspended]

    @extend_schema(
        request=GenerationInputSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                location=OpenApiParameter.HEADER,
                description="The same key again returns the first job and charges once.",
            )
        ],
        responses={201: GenerationOutputSerializer, 200: GenerationOutputSerializer, **REFUSALS},
        tags=["generation"],
        summary="Submit a generation (prompt, cameos, optional remix source)",
    )
    def post(self, request: Request) -> Response:
        data = GenerationInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        job, created = jobs.generation_job_submit(
            user=request.user,
            request=jobs.SubmitRequest(
                prompt=v["prompt"],
                cameo_refs=tuple(v["cameos"]),
                seconds=int(v["seconds"]),
                size=v["size"],
                seed=v.get("seed"),
                kind=JobKind.REMIX if v.get("remix_of") else JobKind.CREATE,
                remix_of_post_id=v.get("remix_of"),
                remix_strength=v.get("remix_strength"),
            ),
            idempotency_key=request.headers.get("Idempotency-Key", ""),
            api_key=request_api_key(request),
        )
        return Response(job_data(job, request), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(
        parameters=[*PAGE_PARAMS, OpenApiParameter("status", str, description="Only jobs in this status.")],
        responses=page_serializer(GenerationOutputSerializer),
        tags=["generation"],
        summary="Your generations, newest first",
    )
    def get(self, request: Request) -> Response:
        rows = selectors.jobs_of_user(user=request.user, status=request.query_params.get("status"))
        page, next_cursor = paginate_queryset(rows, request, ordering=("-created_at", "-id"))
        return Response(page_payload(request, [job_data(j, request) for j in page], next_cursor))


class GenerationDetailApi(APIView):
    @extend_schema(summary="A generation and its progress", responses=GenerationOutputSerializer, tags=["generation"])
    def get(self, request: Request, job_id: str) -> Response:
        return Response(job_data(selectors.job_get_owned(user=request.user, public_id=job_id), request))


class GenerationCancelApi(APIView):
    @extend_schema(
        request=None,
        responses={200: GenerationOutputSerializer, 409: OpenApiResponse(description="job_already_finished")},
        tags=["generation"],
        summary="Cancel a queued or running generation (its credits come back)",
    )
    def post(self, request: Request, job_id: str) -> Response:
        job = selectors.job_get_owned(user=request.user, public_id=job_id)
        job = jobs.generation_job_cancel(job=job, actor=request.user)
        return Response(job_data(selectors.job_get_owned(user=request.user, public_id=job.public_id), request))


class DraftListApi(APIView):
    @extend_schema(
        parameters=PAGE_PARAMS,
        responses=page_serializer(GenerationOutputSerializer),
        tags=["generation"],
        summary="Your drafts: finished videos not yet posted (post one with POST /posts)",
    )
    def get(self, request: Request) -> Response:
        page, next_cursor = paginate_queryset(
            selectors.drafts_of_user(user=request.user), request, ordering=("-finished_at", "-id")
        )
        return Response(page_payload(request, [job_data(j, request) for j in page], next_cursor))


class CreditBalanceSerializer(serializers.Serializer):
    free_allowance = serializers.IntegerField()
    free_remaining = serializers.IntegerField()
    paid = serializers.IntegerField()
    available = serializers.IntegerField()
    resets_at = serializers.DateTimeField(help_text="Your next local midnight.")


def balance_data(balance: credits.Balance) -> dict:
    return {
        "free_allowance": balance.free_allowance,
        "free_remaining": balance.free_remaining,
        "paid": balance.paid,
        "available": balance.available,
        "resets_at": balance.resets_at,
    }


class CreditBalanceApi(APIView):
    @extend_schema(responses=CreditBalanceSerializer, tags=["credits"], summary="Your credits")
    def get(self, request: Request) -> Response:
        return Response(balance_data(credits.credit_balance(user=request.user)))


class CreditEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    pool = enum_field("CreditPool", CreditPool.choices)
    kind = enum_field("CreditEntryKind", CreditEntryKind.choices)
    amount = serializers.IntegerField()
    job_id = serializers.CharField(allow_null=True)
    note = serializers.CharField()
    created_at = serializers.DateTimeField()


class CreditLedgerApi(APIView):
    @extend_schema(
        parameters=PAGE_PARAMS,
        responses=page_serializer(CreditEntrySerializer),
        tags=["credits"],
        summary="Your ledger",
    )
    def get(self, request: Request) -> Response:
        page, next_cursor = paginate_queryset(
            selectors.credit_entries_of(user=request.user), request, ordering=("-created_at", "-id")
        )
        results = [
            {
                "id": e.pk,
                "pool": e.pool,
                "kind": e.kind,
                "amount": e.amount,
                "job_id": e.job.public_id if e.job_id else None,
                "note": e.note,
                "created_at": e.created_at,
            }
            for e in page
        ]
        return Response(page_payload(request, results, next_cursor))


class CreditGrantInputSerializer(InputSerializer):
    handle = serializers.CharField(max_length=40)
    amount = serializers.IntegerField(min_value=1, max_value=100_000)
    note = serializers.CharField(max_length=150)


class CreditGrantApi(APIView):
    permission_classes = [IsAuthenticated, IsStaff]

    @extend_schema(
        request=CreditGrantInputSerializer,
        responses={201: CreditBalanceSerializer},
        tags=["credits"],
        summary="Staff: give a user credits (support, promotions)",
    )
    def post(self, request: Request) -> Response:
        data = CreditGrantInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = user_get_visible(viewer=request.user, handle=data.validated_data["handle"])
        credits.credits_grant(
            user=user, amount=data.validated_data["amount"], note=data.validated_data["note"], granted_by=request.user
        )
        return Response(balance_data(credits.credit_balance(user=user)), status=status.HTTP_201_CREATED)
