from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sora_social.common.errors import ApplicationError
from sora_social.common.pagination import page_payload, page_serializer, paginate_queryset, query_bool
from sora_social.common.schema import PAGE_PARAMS, enum_field
from sora_social.common.serializers import InputSerializer
from sora_social.notifications import selectors, services
from sora_social.notifications.models import NotificationKind


class NotificationActorSerializer(serializers.Serializer):
    handle = serializers.CharField()
    display_name = serializers.CharField(allow_blank=True)


class NotificationTargetSerializer(serializers.Serializer):
    type = serializers.CharField(help_text="post, comment, cameo, video, account_export, moderation_action, ...")
    id = serializers.IntegerField()


@extend_schema_field({"oneOf": [{"type": "string"}, {"type": "integer"}]})
class JobIdField(serializers.JSONField):
    pass


def _opt(field: type[serializers.Field], help_text: str = "", **kwargs) -> serializers.Field:
    return field(required=False, allow_null=True, help_text=help_text or None, **kwargs)


class NotificationDataSerializer(serializers.Serializer):
    """What a notification is about, by kind; each kind fills the fields it names (docs/notifications)."""

    # cameos: cameo_used, cameo_request(_decided), cameo_appearance_removed, cameo_verification, royalty
    cameo_id = _opt(serializers.IntegerField)
    cameo_name = _opt(serializers.CharField)
    request_id = _opt(serializers.IntegerField)
    decision = _opt(serializers.CharField, "approved or denied")
    appearance_id = _opt(serializers.IntegerField)
    via_video_id = _opt(serializers.IntegerField, "The video a derivative inherited the cameo from.")
    amount = _opt(serializers.IntegerField, "Royalty credits earned.")
    detail = _opt(serializers.CharField)
    # posts: post_remixed, comment, reply, likes, cameo_used
    post_id = _opt(serializers.IntegerField)
    parent_id = _opt(serializers.IntegerField)
    root_id = _opt(serializers.IntegerField)
    depth = _opt(serializers.IntegerField)
    parent_author = _opt(serializers.CharField)
    root_author = _opt(serializers.CharField)
    comment_id = _opt(serializers.IntegerField)
    in_reply_to = _opt(serializers.IntegerField)
    excerpt = _opt(serializers.CharField)
    count = _opt(serializers.IntegerField, "Likes so far (a likes notification replaces the previous one).")
    likers = _opt(serializers.CharField)
    replaces_seq = _opt(serializers.IntegerField)
    follower_handle = _opt(serializers.CharField)
    # generation: generation_progress, generation_completed, generation_failed
    job_id = _opt(JobIdField, "A generation's public id (a royalty's: the job's number).")
    video_id = _opt(serializers.IntegerField)
    progress = _opt(serializers.IntegerField)
    status = _opt(serializers.CharField)
    code = _opt(serializers.CharField)
    message = _opt(serializers.CharField)
    # moderation_decision
    summary = _opt(serializers.CharField)
    action_id = _opt(serializers.IntegerField)
    case_id = _opt(serializers.IntegerField)
    report_id = _opt(serializers.IntegerField)
    appeal_id = _opt(serializers.IntegerField)
    action = _opt(serializers.CharField)
    outcome = _opt(serializers.CharField)
    reason = _opt(serializers.CharField)
    target_type = _opt(serializers.CharField)
    target_id = _opt(serializers.IntegerField)
    appealable = _opt(serializers.BooleanField)
    appeal_url = _opt(serializers.CharField)
    appeal_deadline = _opt(serializers.DateTimeField)
    # account_export_ready
    export_id = _opt(serializers.IntegerField)


class NotificationOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    seq = serializers.IntegerField()
    kind = enum_field("NotificationKind", NotificationKind.choices)
    text = serializers.CharField()
    actor = NotificationActorSerializer(allow_null=True)
    data = NotificationDataSerializer()
    target = NotificationTargetSerializer(allow_null=True)
    replaces_seq = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    read = serializers.BooleanField()


class WebsocketSchemaApi(APIView):
    """The websocket protocol as JSON Schema (sora_social/notifications/protocol.py)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        from sora_social.notifications.protocol import websocket_schema

        return Response(websocket_schema())


class NotificationListApi(APIView):
    @extend_schema(
        summary="My notifications, newest first",
        parameters=[
            *PAGE_PARAMS,
            OpenApiParameter("unread", bool, description="Only unread ones."),
        ],
        responses=page_serializer(NotificationOutputSerializer),
        tags=["notifications"],
    )
    def get(self, request: Request) -> Response:
        rows = selectors.notification_visible_list(user=request.user)
        if query_bool(request, "unread"):
            rows = rows.filter(read_at__isnull=True)
        page, next_cursor = paginate_queryset(rows, request, ordering=("-seq",))
        # A page may come out shorter than `limit`: the cursor still moves past the dropped rows.
        page = selectors.without_invisible_targets(user=request.user, rows=page)
        return Response(page_payload(request, [services.notification_payload(n) for n in page], next_cursor))


class UnreadCountApi(APIView):
    @extend_schema(
        summary="How many notifications are unread",
        responses={
            200: {
                "type": "object",
                "properties": {"unread_count": {"type": "integer"}, "last_seq": {"type": "integer"}},
            }
        },
        tags=["notifications"],
    )
    def get(self, request: Request) -> Response:
        return Response(
            {
                "unread_count": selectors.unread_count(user=request.user),
                "last_seq": selectors.last_seq(user=request.user),
            }
        )


class MarkReadInputSerializer(InputSerializer):
    seqs = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, max_length=500)
    up_to_seq = serializers.IntegerField(required=False, min_value=0)
    all = serializers.BooleanField(required=False, default=False)

    # An empty body would otherwise mark everything; `{"all": false}` alone marks nothing.
    schema_extra = {"minProperties": 1}


class MarkReadApi(APIView):
    @extend_schema(
        summary="Mark notifications read (some, or all up to one)",
        request=MarkReadInputSerializer,
        responses={200: {"type": "object", "properties": {"marked": {"type": "integer"}}}},
        tags=["notifications"],
    )
    def post(self, request: Request) -> Response:
        data = MarkReadInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        if not v["all"] and "seqs" not in v and "up_to_seq" not in v:
            if not request.data:
                raise ApplicationError("nothing_to_mark", "Give seqs, up_to_seq, or all=true.")
            return Response({"marked": 0})  # {"all": false}: asked to mark nothing
        marked = services.notifications_mark_read(user=request.user, seqs=v.get("seqs"), up_to_seq=v.get("up_to_seq"))
        return Response({"marked": marked})
