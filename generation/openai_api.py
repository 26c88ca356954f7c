"""`/v1/videos`: the OpenAI Videos API, served by our generation pipeline.

Same paths, field names, status values and error shape as OpenAI's (see shared NOTES), so an
app built on the `openai` SDK only changes its base URL. Authenticated by the user's bearer
token. Jobs made here are ordinary generation jobs: they show in the app, cost credits, and
go through the same policy, consent and provenance steps.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from generation import jobs, selectors
from generation.demo_domain import job_notice
from generation.models import GenerationJob, JobKind, JobSource, JobStatus
from sora_social.common.errors import ApplicationError, NotFound
from sora_social.common.errors import exception_handler as app_exception_handler
from sora_social.common.parsers import FormParser, JSONObjectParser, MultiPartParser

STATUS_MAP = {
    JobStatus.QUEUED: "queued",
    JobStatus.RUNNING: "in_progress",
    JobStatus.SUCCEEDED: "completed",
    JobStatus.FAILED: "failed",
    JobStatus.CANCELLED: "failed",
    JobStatus.BLOCKED: "failed",
}
EDIT_STRENGTH = 0.45


def openai_exception_handler(exc: Exception, context: dict) -> Response | None:
    """Our errors, in OpenAI's shape: {"error": {"code", "message", "type", "param"}}."""
    response = app_exception_handler(exc, context)
    if response is None:
        return None
    error = (response.data or {}).get("error", {})
    fields = error.get("fields") or {}
    response.data = {
        "error": {
            "code": error.get("code"),
            "message": error.get("message", ""),
            "type": "invalid_request_error" if response.status_code < 500 else "server_error",
            "param": next(iter(fields), None),
        }
    }
    return response


def _unix(value) -> int | None:
    return int(value.timestamp()) if value else None


def video_object(job: GenerationJob) -> dict[str, Any]:
    seconds = job.seconds
    if job.kind == JobKind.EXTEND and job.source_video is not None:
        # OpenAI reports an extension's stitched total duration.
        seconds = round(job.source_video.duration_s) + job.seconds
    error = None
    if job.status in (JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.BLOCKED):
        error = {"code": job.error_code or job.status, "message": job.error_message or f"The job was {job.status}."}
    return {
        "id": job.public_id,
        "object": "video",
        "created_at": _unix(job.created_at),
        "completed_at": _unix(job.finished_at) if job.status == JobStatus.SUCCEEDED else None,
        "expires_at": None,
        "error": error,
        "model": job.model or job.backend,
        "progress": job.progress,
        "prompt": job.prompt,
        "remixed_from_video_id": job.source_job.public_id
        if job.kind in (JobKind.REMIX, JobKind.EDIT) and job.source_job_id
        else None,
        "seconds": str(seconds),
        "size": job.size,
        "status": STATUS_MAP[job.status],
        # Not in OpenAI's object (SDKs ignore unknown fields): e.g. the demo model cannot draw this prompt.
        "notice": job_notice(job.notices),
    }


def _field(data, name: str, key: str | None = None):
    """A field from JSON or multipart (the SDK flattens nested objects to name[key])."""
    if key is None:
        return data.get(name)
    nested = data.get(name)
    if isinstance(nested, dict):
        return nested.get(key)
    return data.get(f"{name}[{key}]")


def _seconds(value, default: str = "4") -> int:
    raw = str(value if value not in (None, "") else default)
    if raw not in {"4", "8", "12"}:
        raise ApplicationError("invalid_seconds", "seconds must be one of '4', '8', '12'.", fields={"seconds": [raw]})
    return int(raw)


def _prompt(data) -> str:
    prompt = _field(data, "prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise ApplicationError("missing_required_parameter", "prompt is required.", fields={"prompt": ["Required."]})
    return prompt


def _source_job(request: Request, data, name: str = "video") -> GenerationJob:
    video_id = _field(data, name, "id")
    if not video_id:
        raise ApplicationError(
            "missing_required_parameter",
            f"{name}.id (a completed video's id) is required.",
            fields={name: ["Give {'id': 'video_…'}."]},
        )
    return selectors.job_get_owned(user=request.user, public_id=str(video_id))


def _submit(request: Request, submit: jobs.SubmitRequest, input_reference=None) -> Response:
    job, _ = jobs.generation_job_submit(
        user=request.user,
        request=submit,
        idempotency_key=request.headers.get("Idempotency-Key", ""),
        input_reference=input_reference,
    )
    return Response(video_object(job), status=status.HTTP_200_OK)


class OpenAIView(APIView):
    # Suspension is checked by the submit service; a suspended user may still read their videos.
    permission_classes = [IsAuthenticated]
    parser_classes = [JSONObjectParser, MultiPartParser, FormParser]

    def get_exception_handler(self):
        return openai_exception_handler


class VideoObjectSerializer(serializers.Serializer):
    id = serializers.CharField()
    object = serializers.CharField()
    created_at = serializers.IntegerField()
    completed_at = serializers.IntegerField(allow_null=True)
    expires_at = serializers.IntegerField(allow_null=True)
    error = serializers.DictField(allow_null=True)
    model = serializers.CharField()
    progress = serializers.IntegerField()
    prompt = serializers.CharField(allow_null=True)
    remixed_from_video_id = serializers.CharField(allow_null=True)
    seconds = serializers.CharField()
    size = serializers.CharField()
    status = serializers.ChoiceField(choices=["queued", "in_progress", "completed", "failed"])
    notice = serializers.DictField(
        allow_null=True, help_text='{"code", "message"}: e.g. the built-in demo model cannot draw this prompt.'
    )


class VideoCreateSerializer(serializers.Serializer):
    prompt = serializers.CharField()
    model = serializers.CharField(required=False)
    seconds = serializers.ChoiceField(choices=["4", "8", "12"], required=False)
    size = serializers.ChoiceField(choices=list(settings.GENERATION_SIZES), required=False)
    input_reference = serializers.ImageField(required=False)


class VideoListSerializer(serializers.Serializer):
    object = serializers.CharField()
    data = VideoObjectSerializer(many=True)
    first_id = serializers.CharField(allow_null=True)
    last_id = serializers.CharField(allow_null=True)
    has_more = serializers.BooleanField()


class OpenAIVideosApi(OpenAIView):
    @extend_schema(
        operation_id="openai_videos_create",
        request={"application/json": VideoCreateSerializer, "multipart/form-data": VideoCreateSerializer},
        responses={200: VideoObjectSerializer},
        tags=["openai-compatible"],
        summary="Create a video (OpenAI Videos API)",
    )
    def post(self, request: Request) -> Response:
        data = request.data
        upload = request.FILES.get("input_reference")
        if upload is None and _field(data, "input_reference", "image_url"):
            raise ApplicationError(
                "unsupported_parameter",
                "input_reference by URL is not supported here (this server fetches nothing); upload the image.",
                fields={"input_reference": ["Upload a file."]},
            )
        return _submit(
            request,
            jobs.SubmitRequest(
                prompt=_prompt(data),
                seconds=_seconds(_field(data, "seconds")),
                size=str(_field(data, "size") or ""),
                source=JobSource.OPENAI,
            ),
            input_reference=upload,
        )

    @extend_schema(
        operation_id="openai_videos_list",
        parameters=[
            OpenApiParameter("after", str),
            OpenApiParameter("limit", int),
            OpenApiParameter("order", str, enum=["asc", "desc"]),
        ],
        responses={200: VideoListSerializer},
        tags=["openai-compatible"],
        summary="List videos (OpenAI Videos API cursor page)",
    )
    def get(self, request: Request) -> Response:
        order = request.query_params.get("order", "desc")
        if order not in ("asc", "desc"):
            raise ApplicationError("invalid_order", "order must be 'asc' or 'desc'.", fields={"order": [order]})
        try:
            limit = int(request.query_params.get("limit", 20))
        except ValueError as exc:
            raise ApplicationError(
                "invalid_limit", "limit must be an integer.", fields={"limit": ["Integer."]}
            ) from exc
        if not 1 <= limit <= 100:
            raise ApplicationError("invalid_limit", "limit must be between 1 and 100.", fields={"limit": ["1–100."]})
        rows = selectors.jobs_of_user(user=request.user)
        after = request.query_params.get("after")
        if after:
            anchor = selectors.job_get_owned(user=request.user, public_id=after)
            rows = rows.filter(pk__gt=anchor.pk) if order == "asc" else rows.filter(pk__lt=anchor.pk)
        rows = list(rows.order_by("id" if order == "asc" else "-id")[: limit + 1])
        has_more = len(rows) > limit
        data = [video_object(job) for job in rows[:limit]]
        return Response(
            {
                "object": "list",
                "data": data,
                "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None,
                "has_more": has_more,
            }
        )


class OpenAIVideoDetailApi(OpenAIView):
    @extend_schema(
        operation_id="openai_videos_retrieve",
        responses={200: VideoObjectSerializer},
        tags=["openai-compatible"],
        summary="Retrieve a video (sends openai-poll-after-ms while it is in progress)",
    )
    def get(self, request: Request, video_id: str) -> Response:
        job = selectors.job_get_owned(user=request.user, public_id=video_id)
        response = Response(video_object(job))
        if not job.is_final:
            response["openai-poll-after-ms"] = str(settings.GENERATION_POLL_AFTER_MS)
        return response

    @extend_schema(
        operation_id="openai_videos_delete",
        responses={
            200: {
                "type": "object",
                "properties": {"id": {"type": "string"}, "deleted": {"type": "boolean"}, "object": {"type": "string"}},
            }
        },
        tags=["openai-compatible"],
        summary="Delete a video (cancels it if still in progress)",
    )
    def delete(self, request: Request, video_id: str) -> Response:
        job = selectors.job_get_owned(user=request.user, public_id=video_id)
        jobs.generation_job_delete(job=job, actor=request.user)
        return Response({"id": job.public_id, "deleted": True, "object": "video.deleted"})


class BinaryDownloadNegotiation(BaseContentNegotiation):
    """The download answers with the file's own type, whatever the client accepts.

    OpenAI's SDK asks for ``Accept: application/binary``; DRF's default negotiation would refuse
    that with a 406 before the view runs. Errors still render as JSON.
    """

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class OpenAIVideoContentApi(OpenAIView):
    content_negotiation_class = BinaryDownloadNegotiation

    @extend_schema(
        operation_id="openai_videos_content",
        parameters=[OpenApiParameter("variant", str, enum=["video", "thumbnail", "spritesheet"])],
        responses={
            (200, "video/mp4"): OpenApiTypes.BINARY,
            (200, "image/jpeg"): OpenApiTypes.BINARY,
            409: OpenApiResponse(description="video_not_ready"),
        },
        tags=["openai-compatible"],
        summary="Download the video, its thumbnail or its spritesheet",
    )
    def get(self, request: Request, video_id: str) -> HttpResponse:
        job = selectors.job_get_owned(user=request.user, public_id=video_id)
        variant = request.query_params.get("variant", "video")
        if variant not in ("video", "thumbnail", "spritesheet"):
            raise ApplicationError(
                "invalid_variant", "variant must be video, thumbnail or spritesheet.", fields={"variant": [variant]}
            )
        video = job.result_video
        if job.status != JobStatus.SUCCEEDED or video is None:
            raise ApplicationError(
                "video_not_ready",
                f"The video is {STATUS_MAP[job.status]}; content exists once it is completed.",
                status_code=409,
            )
        if video.status != "ready":
            raise NotFound("This video was taken down.", code="video_not_found")
        if variant == "video":
            field, content_type = video.file, "video/mp4"
        elif variant == "thumbnail":
            field, content_type = video.thumbnail, "image/jpeg"
        else:
            rendition = getattr(video, "rendition", None)
            field, content_type = (rendition.spritesheet if rendition else None), "image/jpeg"
        if not field:
            raise NotFound(f"This video has no {variant}.", code="variant_not_found")
        with field.open("rb") as handle:
            body = handle.read()
        response = HttpResponse(body, content_type=content_type)
        response["Content-Length"] = str(len(body))
        response["Content-Disposition"] = f'inline; filename="{job.public_id}.{"mp4" if variant == "video" else "jpg"}"'
        return response


class RemixSerializer(serializers.Serializer):
    prompt = serializers.CharField()


class OpenAIVideoRemixApi(OpenAIView):
    @extend_schema(
        operation_id="openai_videos_remix",
        request=RemixSerializer,
        responses={200: VideoObjectSerializer},
        tags=["openai-compatible"],
        summary="Remix a completed video with a new prompt",
    )
    def post(self, request: Request, video_id: str) -> Response:
        source = selectors.job_get_owned(user=request.user, public_id=video_id)
        return _submit(
            request,
            jobs.SubmitRequest(
                prompt=_prompt(request.data),
                seconds=source.seconds,
                size=source.size,
                kind=JobKind.REMIX,
                source_job=source,
                source=JobSource.OPENAI,
            ),
        )


class ExtendSerializer(serializers.Serializer):
    prompt = serializers.CharField()
    seconds = serializers.ChoiceField(choices=["4", "8", "12"])
    video = serializers.DictField(help_text='{"id": "video_…"}')


class OpenAIVideoExtendApi(OpenAIView):
    @extend_schema(
        operation_id="openai_videos_extend",
        request={"application/json": ExtendSerializer, "multipart/form-data": ExtendSerializer},
        responses={200: VideoObjectSerializer},
        tags=["openai-compatible"],
        summary="Extend a completed video by 4, 8 or 12 seconds",
    )
    def post(self, request: Request) -> Response:
        source = _source_job(request, request.data)
        return _submit(
            request,
            jobs.SubmitRequest(
                prompt=_prompt(request.data),
                seconds=_seconds(_field(request.data, "seconds")),
                size=source.size,
                kind=JobKind.EXTEND,
                source_job=source,
                source=JobSource.OPENAI,
            ),
        )


class EditSerializer(serializers.Serializer):
    prompt = serializers.CharField()
    video = serializers.DictField(help_text='{"id": "video_…"}')


class OpenAIVideoEditApi(OpenAIView):
    @extend_schema(
        operation_id="openai_videos_edit",
        request={"application/json": EditSerializer, "multipart/form-data": EditSerializer},
        responses={200: VideoObjectSerializer},
        tags=["openai-compatible"],
        summary="Edit a completed video with a prompt (a light remix that keeps its layout)",
    )
    def post(self, request: Request) -> Response:
        source = _source_job(request, request.data)
        return _submit(
            request,
            jobs.SubmitRequest(
                prompt=_prompt(request.data),
                seconds=source.seconds,
                size=source.size,
                kind=JobKind.EDIT,
                source_job=source,
                remix_strength=EDIT_STRENGTH,
                source=JobSource.OPENAI,
            ),
        )


# --- characters: OpenAI's reusable subjects, which are cameos here ------------------------------


class CharacterSerializer(serializers.Serializer):
    id = serializers.CharField()
    created_at = serializers.IntegerField()
    name = serializers.CharField()


class CharacterCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=60)
    video = serializers.FileField()


def character_object(cameo) -> dict[str, Any]:
    return {"id": f"char_{cameo.pk}", "created_at": _unix(cameo.created_at), "name": cameo.display_name or cameo.name}


def _slug(name: str) -> str:
    import re

    slug = re.sub(r"[^a-z0-9_.-]+", "-", name.strip().lower()).strip("-.")
    return slug[:40]


class OpenAICharactersApi(OpenAIView):
    @extend_schema(
        operation_id="openai_videos_characters_create",
        request={"multipart/form-data": CharacterCreateSerializer},
        responses={200: CharacterSerializer},
        tags=["openai-compatible"],
        summary="Create a character from a short clip (a pet or object cameo; verified on the worker)",
    )
    def post(self, request: Request) -> Response:
        from cameos.services import cameo_submit

        name = _field(request.data, "name")
        clip = request.FILES.get("video")
        if not isinstance(name, str) or not name.strip():
            raise ApplicationError("missing_required_parameter", "name is required.", fields={"name": ["Required."]})
        if clip is None:
            raise ApplicationError("missing_required_parameter", "video is required.", fields={"video": ["Required."]})
        # A character is a cameo of a pet or object: a person's likeness needs the app's
        # challenge-and-verify flow, and verification refuses a clip of a face here.
        cameo = cameo_submit(owner=request.user, clip=clip, kind="object", name=_slug(name), display_name=name.strip())
        return Response(character_object(cameo))


class OpenAICharacterDetailApi(OpenAIView):
    @extend_schema(
        operation_id="openai_videos_characters_retrieve",
        responses={200: CharacterSerializer},
        tags=["openai-compatible"],
        summary="A character you made",
    )
    def get(self, request: Request, character_id: str) -> Response:
        from cameos.selectors import cameo_get_owned

        raw = character_id.removeprefix("char_")
        if not raw.isdigit():
            raise NotFound("No such character.", code="character_not_found")
        try:
            cameo = cameo_get_owned(owner=request.user, cameo_id=int(raw))
        except ApplicationError as exc:
            raise NotFound("No such character.", code="character_not_found") from exc
        return Response(character_object(cameo))
