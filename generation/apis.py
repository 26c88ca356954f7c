"""Thin REST views for video assets: upload, read, and the bytes behind a (signed) URL."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from generation import media_serving, selectors, services
from generation.models import Video, VideoSource, VideoStatus
from sora_social.common.errors import ApplicationError, NotFound
from sora_social.common.pagination import page_payload, page_serializer, paginate_queryset
from sora_social.common.parsers import MultiPartParser
from sora_social.common.permissions import IsNotSuspended
from sora_social.common.schema import PAGE_PARAMS, enum_field
from sora_social.common.serializers import InputSerializer
from sora_social.common.throttling import ScopedRateThrottle
from sora_social.idempotency.apis import IDEMPOTENCY_KEY_PARAMETER, idempotent


class VideoOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = enum_field("VideoStatus", VideoStatus.choices)
    source = enum_field("VideoSource", VideoSource.choices)
    duration_s = serializers.FloatField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    frame_count = serializers.IntegerField()
    fps = serializers.FloatField()
    codec = serializers.CharField()
    size_bytes = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    url = serializers.CharField(allow_null=True, help_text="Signed URL of the MP4; expires within an hour.")
    thumbnail_url = serializers.CharField(allow_null=True, help_text="Signed URL of the JPEG thumbnail.")


def video_data(video: Video, *, viewer_id: int, request: Request | None) -> dict:
    """A video as `viewer_id` sees it (callers have checked they may)."""
    servable = video.status == "ready"
    return {
        "id": video.pk,
        "status": video.status,
        "source": video.source,
        "duration_s": video.duration_s,
        "width": video.width,
        "height": video.height,
        "frame_count": video.frame_count,
        "fps": video.fps,
        "codec": video.codec,
        "size_bytes": video.size_bytes,
        "created_at": video.created_at,
        "url": selectors.content_url(video_id=video.pk, variant="video", viewer_id=viewer_id, request=request)
        if servable
        else None,
        "thumbnail_url": selectors.content_url(
            video_id=video.pk, variant="thumbnail", viewer_id=viewer_id, request=request
        )
        if servable and video.thumbnail
        else None,
    }


class VideoUploadInputSerializer(InputSerializer):
    file = serializers.FileField(help_text="An MP4 (H.264). Its name and declared type are ignored.")


class VideoListCreateApi(APIView):
    permission_classes = [IsAuthenticated, IsNotSuspended]
    parser_classes = [MultiPartParser]

    def get_throttles(self):
        # Decoding an upload costs CPU; listing one's videos does not need a limit.
        if self.request.method == "POST":
            throttle = ScopedRateThrottle()
            self.throttle_scope = "video_upload"
            return [throttle]
        return []

    @extend_schema(
        request={"multipart/form-data": VideoUploadInputSerializer},
        responses={
            201: VideoOutputSerializer,
            413: OpenApiResponse(description="video_too_large"),
            415: OpenApiResponse(description="invalid_video, unsupported_container, unsupported_codec"),
            422: OpenApiResponse(description="video_too_long, video_dimensions_too_large"),
        },
        tags=["videos"],
        summary="Upload a video (owned by the uploader; post it with POST /posts)",
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = VideoUploadInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        video = services.video_create_from_upload(user=request.user, upload=data.validated_data["file"])
        return Response(video_data(video, viewer_id=request.user.pk, request=request), status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=PAGE_PARAMS,
        responses=page_serializer(VideoOutputSerializer),
        tags=["videos"],
        summary="Your own videos, newest first",
    )
    def get(self, request: Request) -> Response:
        rows, next_cursor = paginate_queryset(
            selectors.videos_of_user(user=request.user), request, ordering=("-created_at", "-id")
        )
        results = [video_data(v, viewer_id=request.user.pk, request=request) for v in rows]
        return Response(page_payload(request, results, next_cursor))


class VideoDetailApi(APIView):
    @extend_schema(summary="One of my videos", responses=VideoOutputSerializer, tags=["videos"])
    def get(self, request: Request, video_id: int) -> Response:
        video = selectors.video_get_for_viewer(viewer=request.user, video_id=video_id)
        return Response(video_data(video, viewer_id=request.user.pk, request=request))


class VideoContentApi(APIView):
    """The bytes of a video or its thumbnail: bearer token, or a signed `token` from a post."""

    permission_classes = [AllowAny]  # checked below: a bearer user or a signed token

    @extend_schema(
        summary="A video's bytes (MP4, Range supported)",
        parameters=[
            OpenApiParameter("variant", str, enum=list(selectors.VARIANTS), description="video (default) or thumbnail"),
            OpenApiParameter("token", str, description="Signed grant from a `url` field; replaces the bearer token."),
        ],
        responses={
            (200, "video/mp4"): OpenApiTypes.BINARY,
            (206, "video/mp4"): OpenApiTypes.BINARY,
            (200, "image/jpeg"): OpenApiTypes.BINARY,
            302: OpenApiResponse(description="With object storage: a short-lived presigned URL of the bytes."),
        },
        tags=["videos"],
    )
    def get(self, request: Request, video_id: int) -> HttpResponse:
        variant = request.query_params.get("variant", "video")
        if variant not in selectors.VARIANTS:
            raise ApplicationError("invalid_variant", "variant must be video or thumbnail.")
        token = request.query_params.get("token")
        if token:
            viewer_id = selectors.content_token_viewer(token=token, video_id=video_id, variant=variant)
            if viewer_id is None:
                raise NotFound("video_not_found", "No such video, or the link expired.")
        elif request.user.is_authenticated:
            viewer_id = request.user.pk
        else:
            raise ApplicationError("not_authenticated", "Send a bearer token or a signed link.", status_code=401)
        video = Video.objects.filter(pk=video_id).first()
        # Re-checked on every read: a link stops working the moment the post it came from does.
        if video is None or not selectors.video_can_view(viewer_id=viewer_id, video=video):
            raise NotFound("video_not_found", "No such video, or the link expired.")
        field = video.file if variant == "video" else video.thumbnail
        if not field:
            raise NotFound("thumbnail_not_found", "This video has no thumbnail.")
        content_type = video.content_type if variant == "video" else "image/jpeg"
        # A presigned object-store URL, nginx's X-Accel-Redirect, or Django's own ranged stream.
        return media_serving.file_response(request, field, content_type=content_type)
