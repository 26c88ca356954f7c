"""Thin REST views for accounts, tokens, profiles and the social graph."""

from __future__ import annotations

from django.http import FileResponse, HttpResponse, QueryDict
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sora_social.common.errors import ApplicationError, NotFound
from sora_social.common.pagination import page_payload, page_serializer, paginate_queryset
from sora_social.common.parsers import JSONParser, MultiPartParser
from sora_social.common.permissions import IsNotSuspended
from sora_social.common.schema import PAGE_PARAMS, error_responses
from sora_social.common.throttling import ScopedRateThrottle
from sora_social.users import selectors, services
from sora_social.users.models import AccountExport, AccountExportStatus, User
from sora_social.users.serializers import (
    AccountDeleteInputSerializer,
    AccountDeletionOutputSerializer,
    AccountExportOutputSerializer,
    FollowEdgeOutputSerializer,
    IssuedTokenOutputSerializer,
    LoginInputSerializer,
    OwnProfileSerializer,
    PasswordChangeInputSerializer,
    PasswordChangeOutputSerializer,
    PasswordResetConfirmInputSerializer,
    PasswordResetRequestInputSerializer,
    PasswordResetRequestOutputSerializer,
    ProfileUpdateInputSerializer,
    ProfileUpdateUploadInputSerializer,
    PublicProfileSerializer,
    SignupInputSerializer,
    TokenOutputSerializer,
    UserSummarySerializer,
)


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

    @extend_schema(
        summary="Create an account and get its first bearer token",
        request=SignupInputSerializer,
        responses={
            201: IssuedTokenOutputSerializer,
            409: OpenApiResponse(description="handle_taken, handle_reserved"),
            422: OpenApiResponse(
                description="weak_password (the validators' messages), invalid_date_of_birth, too_young, "
                "invalid_timezone"
            ),
        },
        tags=["auth"],
    )
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

    @extend_schema(
        summary="Log in: a new bearer token for a handle and password",
        request=LoginInputSerializer,
        responses={200: IssuedTokenOutputSerializer, **error_responses(e401="invalid_credentials")},
        tags=["auth"],
    )
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
    @extend_schema(summary="Log out: revoke the token in use", request=None, responses={204: None}, tags=["auth"])
    def post(self, request: Request) -> Response:
        services.token_revoke(user=request.user, token_id=request.auth.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordChangeApi(APIView):
    # A password check is a log-in attempt: the same per-client throttle.
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"

    @extend_schema(
        request=PasswordChangeInputSerializer,
        responses={
            200: PasswordChangeOutputSerializer,
            422: OpenApiResponse(description="weak_password (the validators' messages), password_unchanged"),
            403: OpenApiResponse(description="wrong_password: nothing was changed"),
        },
        tags=["auth"],
        summary="Change my password; every other token (device) is logged out, this one stays",
    )
    def post(self, request: Request) -> Response:
        data = PasswordChangeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        revoked = services.user_password_change(
            user=request.user,
            current_password=data.validated_data["current_password"],
            new_password=data.validated_data["new_password"],
            # Session-authenticated (the console) has no token to keep: all are revoked.
            keep_token_id=getattr(request.auth, "pk", None),
        )
        return Response(PasswordChangeOutputSerializer({"revoked_tokens": revoked}).data)


class PasswordResetRequestApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "password_reset"

    @extend_schema(
        request=PasswordResetRequestInputSerializer,
        responses={202: PasswordResetRequestOutputSerializer},
        tags=["auth"],
        summary="Ask for a password-reset mail (always 202: whether the address has an account is not told)",
    )
    def post(self, request: Request) -> Response:
        data = PasswordResetRequestInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.user_password_reset_request(email=data.validated_data["email"])
        body = {"detail": "If an account uses this address, a mail with a reset link is on its way."}
        return Response(body, status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    # Guessing tokens is guessing passwords: the log-in throttle.
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"

    @extend_schema(
        request=PasswordResetConfirmInputSerializer,
        responses={
            204: None,
            422: OpenApiResponse(description="invalid_reset_token, weak_password (the validators' messages)"),
        },
        tags=["auth"],
        summary="Set a new password with the uid and token from the reset mail; every token is revoked",
    )
    def post(self, request: Request) -> Response:
        data = PasswordResetConfirmInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.user_password_reset_confirm(
            uid=data.validated_data["uid"],
            token=data.validated_data["token"],
            new_password=data.validated_data["new_password"],
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class TokenListApi(APIView):
    @extend_schema(
        summary="My tokens (devices), without their secrets", responses=TokenOutputSerializer(many=True), tags=["auth"]
    )
    def get(self, request: Request) -> Response:
        return Response(TokenOutputSerializer(selectors.token_list(user=request.user), many=True).data)


class TokenRevokeApi(APIView):
    @extend_schema(summary="Revoke one of my tokens", responses={204: None}, tags=["auth"])
    def delete(self, request: Request, token_id: int) -> Response:
        services.token_revoke(user=request.user, token_id=token_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(APIView):
    parser_classes = [JSONParser, MultiPartParser]  # JSON, or multipart with an avatar

    @extend_schema(summary="My account", responses=OwnProfileSerializer, tags=["profiles"])
    def get(self, request: Request) -> Response:
        return Response(own_profile_data(request.user))

    @extend_schema(
        summary="Change my profile: handle, display name, bio, time zone; an avatar as multipart",
        request={
            "application/json": ProfileUpdateInputSerializer,
            "multipart/form-data": ProfileUpdateUploadInputSerializer,
        },
        responses={
            200: OwnProfileSerializer,
            409: OpenApiResponse(description="handle_taken, handle_reserved"),
            422: OpenApiResponse(description="invalid_timezone"),
        },
        tags=["profiles"],
    )
    def patch(self, request: Request) -> Response:
        upload = isinstance(request.data, QueryDict)  # multipart; JSON parses to a dict
        serializer_class = ProfileUpdateUploadInputSerializer if upload else ProfileUpdateInputSerializer
        data = serializer_class(data=request.data, partial=True)
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
    @extend_schema(summary="A user's profile", responses=PublicProfileSerializer, tags=["profiles"])
    def get(self, request: Request, handle: str) -> Response:
        user = selectors.user_get_visible(viewer=request.user, handle=handle)
        user.followers_count, user.following_count = selectors.follow_counts(user).values()
        user.relationship = selectors.relationship(request.user, user)
        return Response(PublicProfileSerializer(user).data)


class FollowApi(APIView):
    permission_classes = [IsAuthenticated, IsNotSuspended]

    @extend_schema(summary="Follow a user", request=None, responses={204: None}, tags=["graph"])
    def post(self, request: Request, handle: str) -> Response:
        target = selectors.user_get_visible(viewer=request.user, handle=handle)
        services.follow_create(follower=request.user, followee=target)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(summary="Unfollow a user", request=None, responses={204: None}, tags=["graph"])
    def delete(self, request: Request, handle: str) -> Response:
        target = selectors.user_get_visible(viewer=request.user, handle=handle)
        services.follow_delete(follower=request.user, followee=target)
        return Response(status=status.HTTP_204_NO_CONTENT)


class BlockApi(APIView):
    @extend_schema(summary="Block a user (unfollows both ways)", request=None, responses={204: None}, tags=["graph"])
    def post(self, request: Request, handle: str) -> Response:
        # Blocking must work even on someone who already blocked you, so look up without the filter.
        target = selectors.users_by_handles([handle]).get(handle.lstrip("@").lower())
        if target is None:
            raise NotFound("user_not_found", f"No user @{handle.lstrip('@')}.")
        services.block_create(blocker=request.user, blocked=target)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(summary="Unblock a user", request=None, responses={204: None}, tags=["graph"])
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

    @extend_schema(
        summary="A user's followers, newest first",
        parameters=PAGE_PARAMS,
        responses=page_serializer(FollowEdgeOutputSerializer),
        tags=["graph"],
    )
    def get(self, request: Request, handle: str) -> Response:
        return super().get(request, handle)


class FollowingApi(_EdgeListApi):
    edge_attr = "followee"
    edges = staticmethod(selectors.following_edges)

    @extend_schema(
        summary="Whom a user follows, newest first",
        parameters=PAGE_PARAMS,
        responses=page_serializer(FollowEdgeOutputSerializer),
        tags=["graph"],
    )
    def get(self, request: Request, handle: str) -> Response:
        return super().get(request, handle)


class FriendsApi(_EdgeListApi):
    edge_attr = "followee"
    edges = staticmethod(selectors.friend_edges)

    @extend_schema(
        summary="A user's friends (mutual follows)",
        parameters=PAGE_PARAMS,
        responses=page_serializer(FollowEdgeOutputSerializer),
        tags=["graph"],
    )
    def get(self, request: Request, handle: str) -> Response:
        return super().get(request, handle)


class BlockListApi(APIView):
    @extend_schema(
        summary="People I blocked",
        parameters=PAGE_PARAMS,
        responses=page_serializer(FollowEdgeOutputSerializer),
        tags=["graph"],
    )
    def get(self, request: Request) -> Response:
        rows, next_cursor = paginate_queryset(
            selectors.block_edges(user=request.user), request, ordering=("-created_at", "-id")
        )
        results = [{"user": UserSummarySerializer(b.blocked).data, "since": b.created_at} for b in rows]
        return Response(page_payload(request, results, next_cursor))


# --- leaving: export and delete --------------------------------------------------------------


class AccountApi(APIView):
    """Delete one's own account (the app-store requirement for apps with sign-up)."""

    # A password check is a log-in attempt: the same per-client throttle.
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"
    delete_reads_body = True  # the password

    @extend_schema(
        request=AccountDeleteInputSerializer,
        responses={
            200: AccountDeletionOutputSerializer,
            400: OpenApiResponse(description="password missing"),
            403: OpenApiResponse(description="wrong_password: nothing was deleted"),
        },
        tags=["account"],
        summary="Delete my account for good (password required)",
    )
    def delete(self, request: Request) -> Response:
        data = AccountDeleteInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        deletion = services.user_delete(user=request.user, password=data.validated_data["password"])
        body = {"deleted": True, "deleted_at": deletion.deleted_at, "counts": deletion.counts}
        return Response(AccountDeletionOutputSerializer(body).data)


def account_export_data(export: AccountExport, request: Request) -> dict:
    download_url = None
    if export.status == AccountExportStatus.READY and export.expires_at and export.expires_at > timezone.now():
        path = reverse("account-export-download", kwargs={"export_id": export.pk})
        token = selectors.account_export_link_token(export=export)
        download_url = request.build_absolute_uri(f"{path}?token={token}")
    return {
        "id": export.pk,
        "status": export.status,
        "created_at": export.created_at,
        "finished_at": export.finished_at,
        "expires_at": export.expires_at,
        "size_bytes": export.size_bytes,
        "file_count": export.file_count,
        "error": export.error,
        "download_url": download_url,
    }


class AccountExportListCreateApi(APIView):
    @extend_schema(
        summary="My data exports, newest first",
        responses={200: AccountExportOutputSerializer(many=True)},
        tags=["account"],
    )
    def get(self, request: Request) -> Response:
        rows = selectors.account_exports_of(user=request.user)[:20]
        return Response([account_export_data(export, request) for export in rows])

    @extend_schema(
        request=None,
        responses={
            202: AccountExportOutputSerializer,
            **error_responses(e429="export_limit: the day's exports are used; retry_after_s says when"),
        },
        tags=["account"],
        summary="Export my data: a ZIP of JSON and my media, built in the background",
    )
    def post(self, request: Request) -> Response:
        export = services.account_export_request(user=request.user)
        return Response(account_export_data(export, request), status=status.HTTP_202_ACCEPTED)


class AccountExportDetailApi(APIView):
    @extend_schema(summary="A data export's status", responses={200: AccountExportOutputSerializer}, tags=["account"])
    def get(self, request: Request, export_id: int) -> Response:
        export = selectors.account_export_get_owned(user=request.user, export_id=export_id)
        return Response(account_export_data(export, request))


class AccountExportDownloadApi(APIView):
    """The ZIP, to its owner only: their bearer token, or the signed link from `download_url`."""

    permission_classes = [AllowAny]  # checked below: the owner's bearer token or a signed link

    @extend_schema(
        summary="Download a finished data export (a ZIP)",
        parameters=[OpenApiParameter("token", str, description="Signed grant from `download_url`.")],
        responses={
            (200, "application/zip"): OpenApiTypes.BINARY,
            404: OpenApiResponse(description="export_not_found (also for anyone but the owner)"),
            409: OpenApiResponse(description="export_not_ready"),
            410: OpenApiResponse(description="export_expired"),
        },
        tags=["account"],
    )
    def get(self, request: Request, export_id: int) -> HttpResponse:
        token = request.query_params.get("token")
        if token:
            owner_id = selectors.account_export_owner_from_token(token=token, export_id=export_id)
            if owner_id is None:
                raise NotFound("export_not_found", "No such export, or the link expired.")
        elif request.user.is_authenticated:
            owner_id = request.user.pk
        else:
            raise ApplicationError("not_authenticated", "Send a bearer token or a signed link.", status_code=401)
        export = (
            AccountExport.objects.select_related("user")
            .filter(pk=export_id, user_id=owner_id, user__is_active=True)
            .first()
        )
        if export is None:
            raise NotFound("export_not_found", "No such export, or the link expired.")
        if export.status != AccountExportStatus.READY:
            raise ApplicationError(
                "export_not_ready", f"This export is {export.status}; download it once it is ready.", status_code=409
            )
        if export.expires_at is None or export.expires_at <= timezone.now():
            raise ApplicationError("export_expired", "This export has expired; ask for a new one.", status_code=410)
        try:
            handle = services.account_export_open(export=export)
        except OSError as exc:
            raise ApplicationError(
                "export_expired", "This export is gone; ask for a new one.", status_code=410
            ) from exc
        filename = f"sora_social-{export.user.handle}-{export.created_at:%Y%m%d}-{export.pk}.zip"
        response = FileResponse(handle, content_type="application/zip", as_attachment=True, filename=filename)
        # Personal data: never kept by a shared cache, nor by the browser's.
        response["Cache-Control"] = "private, no-store"
        return response
