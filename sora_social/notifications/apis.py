from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sora_social.common.errors import ApplicationError
from sora_social.common.pagination import page_payload, page_serializer, paginate_queryset
from sora_social.notifications import selectors, services


class NotificationOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    seq = serializers.IntegerField()
    kind = serializers.CharField()
    text = serializers.CharField()
    actor = serializers.DictField(allow_null=True)
    data = serializers.DictField()
    target = serializers.DictField(allow_null=True)
    replaces_seq = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    read = serializers.BooleanField()


class NotificationListApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("cursor", str),
            OpenApiParameter("limit", int),
            OpenApiParameter("unread", bool, description="Only unread ones."),
        ],
        responses=page_serializer(NotificationOutputSerializer),
        tags=["notifications"],
    )
    def get(self, request: Request) -> Response:
        rows = selectors.notification_visible_list(user=request.user)
        if request.query_params.get("unread") in {"1", "true"}:
            rows = rows.filter(read_at__isnull=True)
        page, next_cursor = paginate_queryset(rows, request, ordering=("-seq",))
        # A page may come out shorter than `limit`: the cursor still moves past the dropped rows.
        page = selectors.without_invisible_targets(user=request.user, rows=page)
        return Response(page_payload(request, [services.notification_payload(n) for n in page], next_cursor))


class UnreadCountApi(APIView):
    @extend_schema(
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


class MarkReadInputSerializer(serializers.Serializer):
    seqs = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, max_length=500)
    up_to_seq = serializers.IntegerField(required=False, min_value=0)
    all = serializers.BooleanField(required=False, default=False)


class MarkReadApi(APIView):
    @extend_schema(
        request=MarkReadInputSerializer,
        responses={200: {"type": "object", "properties": {"marked": {"type": "integer"}}}},
        tags=["notifications"],
    )
    def post(self, request: Request) -> Response:
        data = MarkReadInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        if not v["all"] and "seqs" not in v and "up_to_seq" not in v:
            raise ApplicationError("nothing_to_mark", "Give seqs, up_to_seq, or all=true.")
        marked = services.notifications_mark_read(user=request.user, seqs=v.get("seqs"), up_to_seq=v.get("up_to_seq"))
        return Response({"marked": marked})
