"""`/v1/videos`: the OpenAI Videos API, served by our generation pipeline.

Same paths, field names, status values and error shape as OpenAI's (see shared NOTES), so an
app built on the `openai` SDK only changes its base URL. Authenticated by the user's bearer
token. Jobs made here are ordinary generation jobs: they show in the app, cost credits, and
go through the same policy, consent and provenance steps.
"""

from __future__ import annotations

import contextlib
import json
import re
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import MaxLengthValidator
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cameos import constants as cameo_constants
from generation import jobs, media_serving, openai_services, selectors
from generation.demo_domain import job_notice
from generation.models import GenerationJob, JobKind, JobSource, JobStatus
from sora_social.apikeys.authentication import request_api_key
from sora_social.common.errors import ApplicationError, NotFound
from sora_social.common.errors import exception_handler as app_exception_handler
from sora_social.common.openai_errors import MEDIA_CODES, openai_error
from sora_social.common.openai_errors import TYPES as OPENAI_ERROR_TYPES
from sora_social.common.parsers import FormParser, JSONObjectParser, MultiPartParser
from sora_social.common.serializers import json_type_error

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
    """Our errors in OpenAI's shape, statuses and codes (sora_social/common/openai_errors.py:
    e.g. out of credits is OpenAI's 429 `insufficient_quota`, which the SDK raises as
    RateLimitError and does not retry)."""
    response = app_exception_handler(exc, context)
    if response is None:
        return None
    error = (response.data or {}).get("error", {})
    request = context.get("request")
    # The uploads name a media error's param; read only then (a 401 need not parse the body).
    uploads = list(request.FILES) if request is not None and error.get("code") in MEDIA_CODES else []
    answer = openai_error(
        status=response.status_code,
        code=error.get("code"),
        message=error.get("message", ""),
        fields=error.get("fields"),
        uploads=uploads,
    )
    response.status_code = answer.status
    response.data = answer.body
    for name, value in answer.headers.items():
        response[name] = value
    return response


def _unix(value) -> int | None:
    return int(value.timestamp()) if value else None


def expires_at(job: GenerationJob):
    """When a completed video's content stops being served here (OPENAI_VIDEO_EXPIRES_AFTER_S
    after it completed); None while it is not completed."""
    if job.status != JobStatus.SUCCEEDED or job.finished_at is None:
        return None
    return job.finished_at + timedelta(seconds=settings.OPENAI_VIDEO_EXPIRES_AFTER_S)


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
        "expires_at": _unix(expires_at(job)),
        "error": error,
        # The name asked for (or the default), kept while it renders and after.
        "model": job.requested_model or job.model or job.backend,
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


def _source(request: Request, data, name: str = "video") -> tuple[GenerationJob | None, UploadedFile | None]:
    """The video an extension or edit starts from: {"id": "video_…"} (JSON, or `video[id]` in a
    form), or an uploaded MP4 in the `video` part, as the openai SDK sends it."""
    upload = request.FILES.get(name)
    if upload is not None:
        return None, upload
    video_id = _field(data, name, "id")
    if not video_id:
        raise ApplicationError(
            "missing_required_parameter",
            f"{name} is required: an uploaded MP4, or {{'id': 'video_…'}} of a completed video.",
            fields={name: ["Upload a video or give {'id': 'video_…'}."]},
        )
    return selectors.job_get_owned(user=request.user, public_id=str(video_id)), None


_CHARACTER_KEY = re.compile(r"^characters(?:\[\d*\])?(?:\[id\])?$")


def _characters(data) -> tuple[int, ...]:
    """The cameo ids of `characters=[{"id": "char_…"}]` (JSON, or the SDK's multipart
    `characters[][id]`, or one `characters` part per object holding it as JSON, OpenAPI's
    encoding of an object in a form, as clients generated from the schema send it); a bare
    "char_…" string is taken too."""
    if isinstance(data, dict) and not hasattr(data, "getlist"):
        raw = data.get("characters") or []
        values = raw if isinstance(raw, list) else [raw]
    else:
        values = [v for key in data if _CHARACTER_KEY.match(key) for v in data.getlist(key)]
    refs: list[Any] = []
    for value in values:
        if isinstance(value, str) and value.lstrip().startswith(("{", "[")):
            with contextlib.suppress(ValueError):  # not JSON: refused below as not a character id
                value = json.loads(value)
        # A part may hold the whole array as JSON, as a form encoder that sends it in one part does.
        refs.extend(value if isinstance(value, list) else [value])
    if len(refs) > settings.GENERATION_MAX_CAMEOS:
        # The schema's maxItems: a list that breaks it is a 400, whatever the ids are.
        raise ApplicationError(
            "too_many_cameos",
            f"A video can feature at most {settings.GENERATION_MAX_CAMEOS} cameos.",
            fields={"characters": [f"At most {settings.GENERATION_MAX_CAMEOS} items."]},
        )
    ids: list[int] = []
    for value in refs:
        ref = value.get("id") if isinstance(value, dict) else value
        raw_id = str(ref or "").removeprefix("char_")
        if not raw_id.isdigit():
            raise ApplicationError(
                "invalid_character",
                f"characters must be [{{'id': 'char_…'}}]; {ref!r} is not a character id.",
                fields={"characters": ["Give {'id': 'char_…'}."]},
            )
        if int(raw_id) not in ids:
            ids.append(int(raw_id))
    return tuple(ids)


def _model(data) -> str:
    """The model asked for, one that is served (`GET /v1/models`); the default if none."""
    served = selectors.served_models()
    model = _field(data, "model")
    if model in (None, ""):
        return served[0]
    if model not in served:
        raise ApplicationError(
            "model_not_found",
            f"The model {model!r} does not exist here. Served: {', '.join(served)}.",
            fields={"model": [str(model)]},
        )
    return str(model)


def _input_reference(request: Request) -> UploadedFile | None:
    """An uploaded image (or a video: its first frame) to start from. By reference: a file_id
    names nothing here (there is no Files API), an image_url is not fetched: both 400, before
    anything is charged."""
    upload = request.FILES.get("input_reference")
    if upload is not None:
        return openai_services.reference_image_from_upload(upload)
    data = request.data
    if _field(data, "input_reference", "file_id"):
        raise ApplicationError(
            "invalid_input_reference",
            "input_reference.file_id names no file here (this server has no Files API); upload the image or video.",
            fields={"input_reference": ["Unknown file_id."]},
        )
    if _field(data, "input_reference", "image_url"):
        raise ApplicationError(
            "unsupported_parameter",
            "input_reference by URL is not supported here (this server fetches nothing); upload the image.",
            fields={"input_reference": ["Upload a file."]},
        )
    value = _field(data, "input_reference")
    if value not in (None, ""):
        raise ApplicationError(
            "invalid_input_reference",
            "input_reference must be an uploaded image or video.",
            fields={"input_reference": ["Upload a file."]},
        )
    return None


def _body_problem(serializer: serializers.Serializer, data: Any, prefix: str = "") -> tuple[str, str, str] | None:
    """(code, param, why) for the first way a parsed body breaks the schema `serializer` gives it
    (a missing required field, a null, a wrong JSON type, a value outside its rules, at any
    depth), or None. Fields it does not declare are allowed: /v1 bodies are open objects. In a
    form (multipart) every value is text and nested objects are flattened (`video[id]`,
    `characters[][id]`), so only its plain fields are checked here; their own parsers read the rest."""
    form = hasattr(data, "getlist")
    for name, field in serializer.fields.items():
        param = f"{prefix}{name}"
        if name not in data:
            flattened = form and any(key.startswith(f"{name}[") for key in data)
            if field.required and not flattened:
                return "missing_required_parameter", param, "is required"
            continue
        value = data[name]
        if form:
            if isinstance(field, serializers.FileField | serializers.Serializer | serializers.ListSerializer):
                continue
        elif value is None:
            if field.allow_null:
                continue
            return "invalid_type", param, "may not be null"
        else:
            problem = json_type_error(field, value)
            if problem:
                return "invalid_type", param, problem
        if isinstance(field, serializers.ListSerializer) and isinstance(field.child, serializers.Serializer):
            for index, item in enumerate(value):
                found = _body_problem(field.child, item, f"{param}[{index}].")
                if found:
                    return found
        elif isinstance(field, serializers.Serializer):
            found = _body_problem(field, value, f"{param}.")
            if found:
                return found
        else:
            try:
                field.run_validation(value)
            except serializers.ValidationError as exc:
                return "invalid_value", param, str(exc.detail[0] if isinstance(exc.detail, list) else exc.detail)
    return None


def _submit(
    request: Request,
    submit: jobs.SubmitRequest,
    *,
    body: tuple[type[serializers.Serializer], type[serializers.Serializer] | None],
    input_reference: UploadedFile | None = None,
    source_upload: UploadedFile | None = None,
) -> Response:
    # The fields' own parsers ran first (their codes: invalid_seconds, invalid_character, ...);
    # this refuses whatever else the body gets wrong against its schema (`characters: 0`,
    # `size: null`, an extension without `seconds`), rather than reading it as "not given".
    # `body`: the operation's JSON and multipart schemas.
    json_schema, form_schema = body
    schema = form_schema if hasattr(request.data, "getlist") else json_schema
    problem = _body_problem(schema(), request.data) if schema else None
    if problem:
        code, param, why = problem
        raise ApplicationError(code, f"'{param}' {why.rstrip('.')}.", fields={param: [why]})
    job = openai_services.openai_video_submit(
        user=request.user,
        request=submit,
        idempotency_key=request.headers.get("Idempotency-Key", ""),
        input_reference=input_reference,
        source_upload=source_upload,
        api_key=request_api_key(request),
    )
    return Response(video_object(job), status=status.HTTP_200_OK)


class OpenAIErrorDetailSerializer(serializers.Serializer):
    # Every /v1 error, the view's and the request hygiene's in front of it (a NUL in the URL, a
    # body too large), is in this shape (sora_social/common/openai_errors.py).
    code = serializers.CharField(allow_null=True, help_text="OpenAI's where it has one, else ours.")
    message = serializers.CharField()
    type = serializers.ChoiceField(choices=list(OPENAI_ERROR_TYPES))
    param = serializers.CharField(allow_null=True, help_text="The request field the error is about.")


class OpenAIErrorSerializer(serializers.Serializer):
    error = OpenAIErrorDetailSerializer()


class OpenAIView(APIView):
    # Suspension is checked by the submit service; a suspended user may still read their videos.
    permission_classes = [IsAuthenticated]
    parser_classes = [JSONObjectParser, MultiPartParser, FormParser]
    error_serializer = OpenAIErrorSerializer  # its errors' shape, for the schema
    # What a submit can refuse beyond bad input (suspension, a missing source, a name taken, a
    # policy refusal, out of credits and too many jobs in flight: 429); the schema declares them.
    error_statuses_on_write = (403, 404, 409, 422, 429)
    request_body_required = True  # every write needs its fields (a prompt, a video, a name)

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


class CharacterRefSerializer(serializers.Serializer):
    # The ids _characters() takes: "char_" and digits (the digits alone too).
    id = serializers.RegexField(r"^(char_)?[0-9]+$", help_text="char_…")


class VideoCreateSerializer(serializers.Serializer):
    prompt = serializers.CharField()
    model = serializers.CharField(required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The schema names the models served now (GET /v1/models, from the settings), read when
        # the schema is built: a schema-valid model is one the server accepts.
        self.fields["model"] = serializers.ChoiceField(
            choices=selectors.served_models(),
            required=False,
            help_text="One of GET /v1/models; the first there by default.",
        )
        self.fields["size"] = serializers.ChoiceField(choices=list(settings.GENERATION_SIZES), required=False)
        limit = settings.GENERATION_MAX_CAMEOS
        characters = CharacterRefSerializer(many=True, required=False, max_length=limit)
        # The validator is what puts maxItems in the schema (drf-spectacular does not read
        # ListSerializer's max_length); many=True would hand it to each item.
        characters.validators = [MaxLengthValidator(limit)]
        self.fields["characters"] = characters

    seconds = serializers.ChoiceField(choices=["4", "8", "12"], required=False)
    size = serializers.CharField(required=False)  # the sizes served now: set in __init__
    characters = CharacterRefSerializer(many=True, required=False)  # at most the cameo limit: set in __init__


class VideoCreateUploadSerializer(VideoCreateSerializer):
    # The multipart body, as the openai SDK sends every create: a JSON body cannot carry a file.
    # A schema of its own, not the JSON one again: a client generated from the schema tells the
    # two bodies apart by their type (openapi-python-client sends the last matching one).
    input_reference = serializers.FileField(
        required=False, help_text="An image, or a video (its first frame), to start from."
    )


# The submits honour it through jobs.generation_job_submit (the generations' semantics). Being
# optional, it also makes openapi-python-client (0.29.1) import `Unset` in the modules of the
# writes with two bodies, whose signature it writes as `body: A | B | Unset` (its issue #1451);
# tests/contract/test_generated_clients.py imports every module.
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    location=OpenApiParameter.HEADER,
    required=False,
    description="The same key again returns the first video and charges once; with a different request, "
    "422 idempotency_key_reused.",
)


class VideoListSerializer(serializers.Serializer):
    object = serializers.CharField()
    data = VideoObjectSerializer(many=True)
    first_id = serializers.CharField(allow_null=True)
    last_id = serializers.CharField(allow_null=True)
    has_more = serializers.BooleanField()


class OpenAIVideosApi(OpenAIView):
    @extend_schema(
        operation_id="openai_videos_create",
        request={"application/json": VideoCreateSerializer, "multipart/form-data": VideoCreateUploadSerializer},
        parameters=[IDEMPOTENCY_KEY],
        responses={200: VideoObjectSerializer},
        tags=["openai-compatible"],
        summary="Create a video (OpenAI Videos API)",
    )
    def post(self, request: Request) -> Response:
        data = request.data
        return _submit(
            request,
            jobs.SubmitRequest(
                prompt=_prompt(data),
                cameo_refs=_characters(data),
                seconds=_seconds(_field(data, "seconds")),
                size=str(_field(data, "size") or ""),
                source=JobSource.OPENAI,
                model=_model(data),
            ),
            body=(VideoCreateSerializer, VideoCreateUploadSerializer),
            input_reference=_input_reference(request),
        )

    @extend_schema(
        operation_id="openai_videos_list",
        parameters=[
            OpenApiParameter("after", str),
            OpenApiParameter("limit", {"type": "integer", "minimum": 1, "maximum": 100}, description="1-100 (20)."),
            OpenApiParameter("order", str, enum=["asc", "desc"]),
        ],
        responses={200: VideoListSerializer, 404: OpenApiResponse(description="generation_not_found: `after`")},
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
        summary="Delete a video (cancelled and refunded if in progress; 404 afterwards; a repeat answers the same)",
    )
    def delete(self, request: Request, video_id: str) -> Response:
        job = selectors.job_get_owned_even_deleted(user=request.user, public_id=video_id)
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
            (206, "video/mp4"): OpenApiTypes.BINARY,
            (200, "image/jpeg"): OpenApiTypes.BINARY,
            302: OpenApiResponse(description="With object storage: a short-lived presigned URL of the bytes."),
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
            raise NotFound("video_not_found", "This video was taken down.")
        expiry = expires_at(job)
        if expiry is not None and timezone.now() >= expiry:
            raise NotFound("video_expired", "This video's content expired (see expires_at).")
        if variant == "video":
            field, content_type = video.file, "video/mp4"
        elif variant == "thumbnail":
            field, content_type = video.thumbnail, "image/jpeg"
        else:
            rendition = getattr(video, "rendition", None)
            field, content_type = (rendition.spritesheet if rendition else None), "image/jpeg"
        if not field:
            raise NotFound("variant_not_found", f"This video has no {variant}.")
        # Range, and bytes sent by the object store or nginx where deployed (generation/media_serving.py).
        return media_serving.file_response(
            request,
            field,
            content_type=content_type,
            disposition=f'inline; filename="{job.public_id}.{"mp4" if variant == "video" else "jpg"}"',
            cache="private, max-age=300",
        )


class RemixSerializer(serializers.Serializer):
    prompt = serializers.CharField()


class OpenAIVideoRemixApi(OpenAIView):
    # JSON only, as its schema says (there is no file to upload): a form body is a 415, which
    # /v1 answers as OpenAI's 400.
    parser_classes = [JSONObjectParser]

    @extend_schema(
        operation_id="openai_videos_remix",
        # JSON, as the openai SDK sends it (there is no file to upload).
        request={"application/json": RemixSerializer},
        parameters=[IDEMPOTENCY_KEY],
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
                model=source.requested_model,
            ),
            body=(RemixSerializer, None),  # no form body reaches it
        )


class VideoRefSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="video_… of a completed video")


class ExtendSerializer(serializers.Serializer):
    prompt = serializers.CharField()
    seconds = serializers.ChoiceField(choices=["4", "8", "12"])
    video = VideoRefSerializer()


class ExtendUploadSerializer(serializers.Serializer):
    prompt = serializers.CharField()
    seconds = serializers.ChoiceField(choices=["4", "8", "12"])
    video = serializers.FileField(help_text="An MP4 to extend (as the openai SDK sends it).")


class OpenAIVideoExtendApi(OpenAIView):
    @extend_schema(
        operation_id="openai_videos_extend",
        request={"application/json": ExtendSerializer, "multipart/form-data": ExtendUploadSerializer},
        parameters=[IDEMPOTENCY_KEY],
        responses={200: VideoObjectSerializer},
        tags=["openai-compatible"],
        summary="Extend a completed video by 4, 8 or 12 seconds",
    )
    def post(self, request: Request) -> Response:
        source, upload = _source(request, request.data)
        return _submit(
            request,
            jobs.SubmitRequest(
                prompt=_prompt(request.data),
                seconds=_seconds(_field(request.data, "seconds")),
                size=source.size if source else "",
                kind=JobKind.EXTEND,
                source_job=source,
                source=JobSource.OPENAI,
                model=source.requested_model if source else "",
            ),
            body=(ExtendSerializer, ExtendUploadSerializer),
            source_upload=upload,
        )


class EditSerializer(serializers.Serializer):
    prompt = serializers.CharField()
    video = VideoRefSerializer()


class EditUploadSerializer(serializers.Serializer):
    prompt = serializers.CharField()
    video = serializers.FileField(help_text="An MP4 to edit (as the openai SDK sends it).")


class OpenAIVideoEditApi(OpenAIView):
    @extend_schema(
        operation_id="openai_videos_edit",
        request={"application/json": EditSerializer, "multipart/form-data": EditUploadSerializer},
        parameters=[IDEMPOTENCY_KEY],
        responses={200: VideoObjectSerializer},
        tags=["openai-compatible"],
        summary="Edit a completed video with a prompt (a light remix that keeps its layout)",
    )
    def post(self, request: Request) -> Response:
        source, upload = _source(request, request.data)
        return _submit(
            request,
            jobs.SubmitRequest(
                prompt=_prompt(request.data),
                seconds=source.seconds if source else 4,
                size=source.size if source else "",
                kind=JobKind.EDIT,
                source_job=source,
                remix_strength=EDIT_STRENGTH,
                source=JobSource.OPENAI,
                model=source.requested_model if source else "",
            ),
            body=(EditSerializer, EditUploadSerializer),
            source_upload=upload,
        )


# --- characters: OpenAI's reusable subjects, which are cameos here ------------------------------


class CharacterSerializer(serializers.Serializer):
    id = serializers.CharField()
    created_at = serializers.IntegerField()
    name = serializers.CharField()


CHARACTER_NAME_MAX = 60


class CharacterCreateSerializer(serializers.Serializer):
    name = serializers.CharField(
        max_length=CHARACTER_NAME_MAX,
        help_text="Shown as is; its @name is made of its letters and digits (at least 3, else 422).",
    )
    video = serializers.FileField()


def character_object(cameo) -> dict[str, Any]:
    return {"id": f"char_{cameo.pk}", "created_at": _unix(cameo.created_at), "name": cameo.display_name or cameo.name}


def _slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9_.-]+", "-", name.strip().lower()).strip("-.")
    return slug[:40]


class OpenAICharactersApi(OpenAIView):
    @extend_schema(
        operation_id="openai_videos_characters_create",
        request={"multipart/form-data": CharacterCreateSerializer},
        responses={
            200: CharacterSerializer,
            422: OpenApiResponse(description="invalid_character_name: its @name needs at least 3 letters or digits"),
        },
        tags=["openai-compatible"],
        summary="Create a character from a short clip (a pet or object cameo; verified on the worker)",
    )
    def post(self, request: Request) -> Response:
        from cameos.services import cameo_submit

        name = _field(request.data, "name")
        clip = request.FILES.get("video")
        if not isinstance(name, str) or not name:
            raise ApplicationError("missing_required_parameter", "name is required.", fields={"name": ["Required."]})
        if clip is None:
            raise ApplicationError("missing_required_parameter", "video is required.", fields={"video": ["Required."]})
        if len(name) > CHARACTER_NAME_MAX:
            raise ApplicationError(
                "invalid_character_name",
                f"name is at most {CHARACTER_NAME_MAX} characters.",
                fields={"name": [f"At most {CHARACTER_NAME_MAX} characters."]},
            )
        if not re.match(cameo_constants.NAME_PATTERN, _slug(name)):
            # A rule the schema cannot state: the @name made from it must be a valid cameo name.
            raise ApplicationError(
                "invalid_character_name",
                "name needs at least 3 letters or digits, to make the character's @name from.",
                status_code=status.HTTP_422_UNPROCESSABLE_ENTITY,
                fields={"name": ["At least 3 letters or digits."]},
            )
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
            raise NotFound("character_not_found", "No such character.")
        try:
            cameo = cameo_get_owned(owner=request.user, cameo_id=int(raw))
        except ApplicationError as exc:
            raise NotFound("character_not_found", "No such character.") from exc
        return Response(character_object(cameo))


# --- models: what /v1/videos accepts as `model` -----------------------------------------------


class ModelObjectSerializer(serializers.Serializer):
    id = serializers.CharField()
    object = serializers.ChoiceField(choices=["model"])
    created = serializers.IntegerField()
    owned_by = serializers.CharField()


class ModelListSerializer(serializers.Serializer):
    object = serializers.ChoiceField(choices=["list"])
    data = ModelObjectSerializer(many=True)


def _model_object(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": 0, "owned_by": "sora_social"}


class OpenAIModelsApi(OpenAIView):
    @extend_schema(
        operation_id="openai_models_list",
        responses={200: ModelListSerializer},
        tags=["openai-compatible"],
        summary="The video models served (the default first)",
    )
    def get(self, request: Request) -> Response:
        return Response({"object": "list", "data": [_model_object(name) for name in selectors.served_models()]})


class OpenAIModelDetailApi(OpenAIView):
    @extend_schema(
        operation_id="openai_models_retrieve",
        responses={200: ModelObjectSerializer},
        tags=["openai-compatible"],
        summary="One served model",
    )
    def get(self, request: Request, model: str) -> Response:
        if model not in selectors.served_models():
            raise NotFound("model_not_found", f"The model {model!r} does not exist here.")
        return Response(_model_object(model))
