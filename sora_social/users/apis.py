"""Thin REST views for accounts, tokens, profiles and the social graph."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from sora_social.common.errors import NotFound
from sora_social.common.pagination import page_payload, page_serializer, paginate_queryset
from sora_social.common.permissions import IsNotSuspended
from sora_social.users import selectors, services
from sora_social.users.models import User
from sora_social.users.serializers import (
    FollowEdgeOutputSerializer,
    IssuedTokenOutputSerializer,
    LoginInputSerializer,
    OwnProfileSerializer,
    ProfileUpdateInputSerializer,
    PublicProfileSerializer,
    SignupInputSerializer,
    TokenOutputSerializer,
    UserSummarySerializer,
)

PAGE_PARAMS = [
    OpenApiParameter("cursor", str, description="Opaque cursor from the previous page's next_cursor."),
    OpenApiParameter("limit", int, description="Page size, 1–100 (default 20)."),
]


def own_profile_data(user: User) -> dict:
    user.followers_count, user.following_count = selectors.follow_counts(user).values()
    return OwnProfileSerializer(user).data


def issued_token_data(token, secret: str, user: User) -> dict:
    return {"token": secret, "token_id": token.pk, "expires_at": token.expires_at, "user": own_profile_data(user)}


class SignupApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "signup"

    @extend_schema(request=SignupInputSerializer, responses={201: IssuedTokenOutputSerializer}, tags=["auth"])
    def post(self, request: Request) -> Response:
        data = SignupInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        user = services.user_create(
            handle=v["handle"],
            password=v["password"],
            date_of_birth=v["date_of_birth"],
            display_name=v["display_name"],
            email=v["email"],
            timezone_name=v["timezone"],
        )
        token, secret = services.token_issue(user=user, name=v["device_name"])
        return Response(issued_token_data(token, secret, user), status=status.HTTP_201_CREATED)


class LoginApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"

    @extend_schema(request=LoginInputSerializer, responses={200: IssuedTokenOutputSerializer}, tags=["auth"])
    def post(self, request: Request) -> Response:
        data = LoginInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token, secret = services.token_create(
            handle=data.validated_data["handle"],
            password=data.validated_data["password"],
            name=data.validated_data["device_name"],
        )
        return Response(issued_token_data(token, secret, token.user))


class LogoutApi(APIView):
    @extend_schema(request=None, responses={204: None}, tags=["auth"])
    def post(self, request: Request) -> Response:
        services.token_revoke(user=request.user, token_id=request.auth.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TokenListApi(APIView):
    @extend_schema(responses=TokenOutputSerializer(many=True), tags=["auth"])
    def get(self, request: Request) -> Response:
        return Response(TokenOutputSerializer(selectors.token_list(user=request.user), many=True).data)


class TokenRevokeApi(APIView):
    @extend_schema(responses={204: None}, tags=["auth"])
    def delete(self, request: Request, token_id: int) -> Response:
        services.token_revoke(user=request.user, token_id=token_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(APIView):
    @extend_schema(responses=OwnProfileSerializer, tags=["profiles"])
    def get(self, request: Request) -> Response:
        return Response(own_profile_data(request.user))

    @extend_schema(request=ProfileUpdateInputSerializer, responses=OwnProfileSerializer, tags=["profiles"])
    def patch(self, request: Request) -> Response:
        data = ProfileUpdateInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        user = services.user_update_profile(
            user=request.user,
            handle=v.get("handle"),
            display_name=v.get("display_name"),
            bio=v.get("bio"),
            avatar=v.get("avatar"),
            timezone_name=v.get("timezone"),
        )
        return Response(own_profile_data(user))


class ProfileApi(APIView):
    @extend_schema(responses=PublicProfileSerializer, tags=["profiles"])
    def get(self, request: Request, handle: str) -> Response:
        user = selectors.user_get_visible(viewer=request.user, handle=handle)
        user.followers_count, user.following_count = selectors.follow_counts(user).values()
        user.relationship = selectors.relationship(request.user, user)
        return Response(PublicProfileSerializer(user).data)


class FollowApi(APIView):
    permission_classes = [IsAuthenticated, IsNotSuspended]

    @extend_schema(request=None, responses={204: None}, tags=["graph"])
    def post(self, request: Request, handle: str) -> Response:
        target = selectors.user_get_visible(viewer=request.user, handle=handle)
        services.follow_create(follower=request.user, followee=target)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={204: None}, tags=["graph"])
    def delete(self, request: Request, handle: str) -> Response:
        target = selectors.user_get_visible(viewer=request.user, handle=handle)
        services.follow_delete(follower=request.user, followee=target)
        return Response(status=status.HTTP_204_NO_CONTENT)


class BlockApi(APIView):
    @extend_schema(request=None, responses={204: None}, tags=["graph"])
    def post(self, request: Request, handle: str) -> Response:
        # Blocking must work even on someone who already blocked you, so look up without the filter.
        target = selectors.users_by_handles([handle]).get(handle.lstrip("@").lower())
        if target is None:
            raise NotFound(f"No user @{handle.lstrip('@')}.", code="user_not_found")
        services.block_create(blocker=request.user, blocked=target)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={204: None}, tags=["graph"])
    def delete(self, request: Request, handle: str) -> Response:
        target = selectors.users_by_handles([handle]).get(handle.lstrip("@").lower())
        if target is not None:
            services.block_delete(blocker=request.user, blocked=target)
        return Response(status=status.HTTP_204_NO_CONTENT)


class _EdgeListApi(APIView):
    """Shared shape of the follower/following/friends lists: newest edge first, keyset-paged."""

    edge_attr = ""
    edges = staticmethod(selectors.follower_edges)  # each subclass names its edge query

    def get(self, request: Request, handle: str) -> Response:
        user = selectors.user_get_visible(viewer=request.user, handle=handle)
        rows, next_cursor = paginate_queryset(
            self.edges(user=user, viewer=request.user), request, ordering=("-created_at", "-id")
        )
        results = [
            {"user": UserSummarySerializer(getattr(edge, self.edge_attr)).data, "since": edge.created_at}
            for edge in rows
        ]
        return Response(page_payload(request, results, next_cursor))


class FollowersApi(_EdgeListApi):
    edge_attr = "follower"
    edges = staticmethod(selectors.follower_edges)

    @extend_schema(parameters=PAGE_PARAMS, responses=page_serializer(FollowEdgeOutputSerializer), tags=["graph"])
    def get(self, request: Request, handle: str) -> Response:
        return super().get(request, handle)


class FollowingApi(_EdgeListApi):
    edge_attr = "followee"
    edges = staticmethod(selectors.following_edges)

    @extend_schema(parameters=PAGE_PARAMS, responses=page_serializer(FollowEdgeOutputSerializer), tags=["graph"])
    def get(self, request: Request, handle: str) -> Response:
        return super().get(request, handle)


class FriendsApi(_EdgeListApi):
    edge_attr = "followee"
    edges = staticmethod(selectors.friend_edges)

    @extend_schema(parameters=PAGE_PARAMS, responses=page_serializer(FollowEdgeOutputSerializer), tags=["graph"])
    def get(self, request: Request, handle: str) -> Response:
        return super().get(request, handle)


class BlockListApi(APIView):
    @extend_schema(parameters=PAGE_PARAMS, responses=page_serializer(FollowEdgeOutputSerializer), tags=["graph"])
    def get(self, request: Request) -> Response:
        rows, next_cursor = paginate_queryset(
            selectors.block_edges(user=request.user), request, ordering=("-created_at", "-id")
        )
        results = [{"user": UserSummarySerializer(b.blocked).data, "since": b.created_at} for b in rows]
        return Response(page_payload(request, results, next_cursor))
