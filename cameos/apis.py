"""Thin REST views of the cameos app: parse, call a service or selector, serialise."""

from __future__ import annotations

import json
from typing import Any

from django.http import FileResponse, HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import renderers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cameos import selectors, services, storage
from cameos.models import Cameo, CameoAppearance, CameoChallenge, CameoRequest
from cameos.serializers import (
    AccessEntryChangeOutputSerializer,
    AccessEntryInputSerializer,
    AccessEntryOutputSerializer,
    AppearanceOutputSerializer,
    AppearanceRemoveInputSerializer,
    CameoOutputSerializer,
    CameoUpdateInputSerializer,
    CameoUploadInputSerializer,
    ChallengeInputSerializer,
    ChallengeOutputSerializer,
    ConsentChangeOutputSerializer,
    LicenceInputSerializer,
    LicenceOutputSerializer,
    OwnCameoOutputSerializer,
    ReferencesOutputSerializer,
    RequestDecideInputSerializer,
    RequestInputSerializer,
    RequestOutputSerializer,
    RightsHolderInputSerializer,
    RightsHolderOutputSerializer,
    RoyaltyStatementOutputSerializer,
    StatementQuerySerializer,
    TakeDownInputSerializer,
)
from cameos.vision import challenge_payload, encode_png, render_challenge_card
from sora_social.common.errors import Forbidden, NotFound
from sora_social.common.pagination import page_payload, page_serializer, paginate_queryset
from sora_social.common.parsers import MultiPartParser
from sora_social.common.permissions import IsNotSuspended, IsStaff
from sora_social.common.schema import PAGE_PARAMS, error_responses
from sora_social.idempotency.apis import IDEMPOTENCY_KEY_PARAMETER, idempotent
from sora_social.users.models import User
from sora_social.users.selectors import user_get_visible, users_by_handles

TAGS = ["cameos"]
NEWEST_FIRST = ("-created_at", "-id")


class BinaryRenderer(renderers.BaseRenderer):
    """Lets a client ask for image/png or video/* (the views return files); errors stay JSON."""

    media_type = "*/*"
    format = "bin"
    charset = None

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context=None) -> bytes:
        if isinstance(data, bytes):
            return data
        return json.dumps(data, default=str).encode()


FILE_RENDERERS = [renderers.JSONRenderer, BinaryRenderer]


class FileApi(APIView):
    """A view answering a file; its errors are JSON whatever the client asked for."""

    renderer_classes = FILE_RENDERERS

    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)
        self.request.accepted_renderer = renderers.JSONRenderer()
        self.request.accepted_media_type = "application/json"
        return response


def _own_data(cameo: Cameo) -> dict:
    cameo.viewer_decision = selectors.can_use_cameo(cameo.owner, cameo)
    return OwnCameoOutputSerializer(cameo).data


def _change_data(change: services.ConsentChange) -> dict:
    return {
        "cameo": _own_data(change.cameo),
        "cancelled_jobs": change.cancelled_jobs,
        "taken_down": change.taken_down,
    }


def _with_decisions(viewer: User, cameos: list[Cameo]) -> list[Cameo]:
    decisions = selectors.cameo_decisions(viewer, cameos)
    for cameo in cameos:
        cameo.viewer_decision = decisions[cameo.pk]
    return cameos


def _user_by_handle(handle: str) -> User:
    user = users_by_handles([handle]).get(handle.lstrip("@").lower())
    if user is None:
        raise NotFound("user_not_found", f"No user @{handle.lstrip('@')}.")
    return user


def _owned(request: Request, cameo_id: int) -> Cameo:
    return selectors.cameo_get_owned(owner=request.user, cameo_id=cameo_id)


# --- creating ------------------------------------------------------------------------------


class ChallengeCreateApi(APIView):
    permission_classes = [IsAuthenticated, IsNotSuspended]

    @extend_schema(
        summary="Start a cameo: a challenge code to say or show in the clip",
        request=ChallengeInputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={
            201: ChallengeOutputSerializer,
            **error_responses(e429="too_many_challenges: the hour's attempts are used; retry_after_s says when"),
        },
        tags=TAGS,
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = ChallengeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        challenge = services.challenge_create(owner=request.user, **data.validated_data)
        body = {
            "id": challenge.pk,
            "kind": challenge.kind,
            "name": challenge.name,
            "display_name": challenge.display_name,
            "code": challenge.code,
            "qr_payload": challenge_payload(challenge.pk, challenge.code),
            "card_url": reverse("cameo-challenge-card", args=[challenge.pk]),
            "expires_at": challenge.expires_at,
        }
        return Response(ChallengeOutputSerializer(body).data, status=status.HTTP_201_CREATED)


class ChallengeCardApi(FileApi):
    @extend_schema(
        summary="The challenge code as an image to show on camera (PNG)",
        responses={(200, "image/png"): OpenApiTypes.BINARY},
        tags=TAGS,
    )
    def get(self, request: Request, challenge_id: int) -> HttpResponse:
        challenge = CameoChallenge.objects.filter(pk=challenge_id, owner=request.user).first()
        if challenge is None:
            raise NotFound("challenge_not_found", "No such challenge.")
        code = f"{challenge.code[:3]} {challenge.code[3:]}"
        png = encode_png(render_challenge_card(challenge_payload(challenge.pk, challenge.code), code_text=code))
        response = HttpResponse(png, content_type="image/png")
        response["Cache-Control"] = "private, no-store"
        return response


class CameoListCreateApi(APIView):
    parser_classes = [MultiPartParser]

    def get_permissions(self):
        if self.request.method == "POST":
            return [IsAuthenticated(), IsNotSuspended()]
        return [IsAuthenticated()]

    @extend_schema(
        parameters=[OpenApiParameter("status", str, description="Only cameos in this status."), *PAGE_PARAMS],
        responses=page_serializer(OwnCameoOutputSerializer),
        tags=TAGS,
        summary="My cameos",
    )
    def get(self, request: Request) -> Response:
        rows = selectors.cameos_of_owner(owner=request.user)
        if request.query_params.get("status"):
            rows = rows.filter(status=request.query_params["status"])
        page, next_cursor = paginate_queryset(rows, request, ordering=NEWEST_FIRST)
        return Response(page_payload(request, [_own_data(c) for c in page], next_cursor))

    @extend_schema(
        request={"multipart/form-data": CameoUploadInputSerializer},
        responses={202: OwnCameoOutputSerializer, **error_responses(e404="challenge_not_found")},
        tags=TAGS,
        summary="Upload the verification clip for a challenge",
        description="Cheap checks now (it decodes as a video, at most 10 s, the challenge is yours, unused and "
        "unexpired); the rest runs on a worker. Poll the cameo until status is active or rejected.",
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = CameoUploadInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        cameo = services.cameo_submit(
            owner=request.user, clip=v["clip"], challenge_id=v["challenge_id"], description=v["description"]
        )
        return Response(_own_data(cameo), status=status.HTTP_202_ACCEPTED)


class CameoSearchApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("q", str, description="Part of a name, or an owner's handle."), *PAGE_PARAMS],
        responses=page_serializer(CameoOutputSerializer),
        tags=TAGS,
        summary="Cameos I may use or ask for",
    )
    def get(self, request: Request) -> Response:
        rows = selectors.cameo_search(viewer=request.user, query=request.query_params.get("q", ""))
        page, next_cursor = paginate_queryset(rows, request, ordering=NEWEST_FIRST)
        results = CameoOutputSerializer(_with_decisions(request.user, page), many=True).data
        return Response(page_payload(request, results, next_cursor))


class UserCameosApi(APIView):
    @extend_schema(
        parameters=PAGE_PARAMS,
        responses=page_serializer(CameoOutputSerializer),
        tags=TAGS,
        summary="A user's cameos that I may use or ask for",
    )
    def get(self, request: Request, handle: str) -> Response:
        owner = user_get_visible(viewer=request.user, handle=handle)
        if owner.pk == request.user.pk:
            rows = selectors.cameos_of_owner(owner=owner).filter(status="active")
        else:
            rows = selectors.cameos_visible_to(viewer=request.user).filter(owner=owner)
        page, next_cursor = paginate_queryset(rows, request, ordering=NEWEST_FIRST)
        results = CameoOutputSerializer(_with_decisions(request.user, page), many=True).data
        return Response(page_payload(request, results, next_cursor))


class CameoDetailApi(APIView):
    def get_permissions(self):
        if self.request.method in ("PATCH", "DELETE"):
            return [IsAuthenticated(), IsNotSuspended()]
        return [IsAuthenticated()]

    @extend_schema(
        # The owner's view (every field), or another's (the public ones and their decision).
        responses={
            200: {
                "anyOf": [
                    {"$ref": "#/components/schemas/OwnCameoOutput"},
                    {"$ref": "#/components/schemas/CameoOutput"},
                ]
            }
        },
        tags=TAGS,
        summary="A cameo (the owner sees every field; others the public ones)",
        description="Others get the public fields and their own `can_use` decision; a cameo they may neither "
        "use nor ask for is a 404.",
    )
    def get(self, request: Request, cameo_id: int) -> Response:
        cameo, decision = selectors.cameo_get_visible(viewer=request.user, cameo_id=cameo_id)
        if cameo.owner_id == request.user.pk:
            return Response(_own_data(cameo))
        cameo.viewer_decision = decision
        return Response(CameoOutputSerializer(cameo).data)

    @extend_schema(
        summary="Change who may use my cameo, its lists mode and instructions",
        request=CameoUpdateInputSerializer,
        responses=ConsentChangeOutputSerializer,
        tags=TAGS,
    )
    def patch(self, request: Request, cameo_id: int) -> Response:
        cameo = _owned(request, cameo_id)
        data = CameoUpdateInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        change = services.cameo_update(cameo=cameo, actor=request.user, **data.validated_data)
        return Response(_change_data(change))

    @extend_schema(
        parameters=[OpenApiParameter("take_down_existing", bool, description="Also take down others' videos.")],
        responses=ConsentChangeOutputSerializer,
        tags=TAGS,
        summary="Delete a cameo for good (its private media are erased)",
    )
    def delete(self, request: Request, cameo_id: int) -> Response:
        cameo = _owned(request, cameo_id)
        take_down = request.query_params.get("take_down_existing", "").lower() in {"1", "true", "yes"}
        change = services.cameo_delete(cameo=cameo, actor=request.user, take_down_existing=take_down)
        return Response(_change_data(change))


class CameoRevokeApi(APIView):
    permission_classes = [IsAuthenticated, IsNotSuspended]

    @extend_schema(
        request=TakeDownInputSerializer,
        responses=ConsentChangeOutputSerializer,
        tags=TAGS,
        summary="Withdraw everyone else's permission",
    )
    def post(self, request: Request, cameo_id: int) -> Response:
        cameo = _owned(request, cameo_id)
        data = TakeDownInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        change = services.cameo_revoke(cameo=cameo, actor=request.user, **data.validated_data)
        return Response(_change_data(change))


# --- lists and requests ----------------------------------------------------------------------


def _entry_data(entry) -> dict:
    return AccessEntryOutputSerializer(entry).data


class AccessListApi(APIView):
    permission_classes = [IsAuthenticated, IsNotSuspended]

    @extend_schema(responses=AccessEntryOutputSerializer(many=True), tags=TAGS, summary="Allow and deny lists")
    def get(self, request: Request, cameo_id: int) -> Response:
        cameo = _owned(request, cameo_id)
        rows = selectors.access_entries_of(cameo=cameo).order_by("effect", "user__handle")
        return Response([_entry_data(e) for e in rows])

    @extend_schema(
        summary="Allow or deny one person",
        request=AccessEntryInputSerializer,
        responses=AccessEntryChangeOutputSerializer,
        tags=TAGS,
    )
    def post(self, request: Request, cameo_id: int) -> Response:
        cameo = _owned(request, cameo_id)
        data = AccessEntryInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        entry, change = services.cameo_access_set(
            cameo=cameo,
            actor=request.user,
            user=_user_by_handle(v["handle"]),
            effect=v["effect"],
            take_down_existing=v["take_down_existing"],
        )
        entry = selectors.access_entries_of(cameo=cameo).get(pk=entry.pk)
        return Response(
            {"entry": _entry_data(entry), "cancelled_jobs": change.cancelled_jobs, "taken_down": change.taken_down}
        )


class AccessEntryDeleteApi(APIView):
    permission_classes = [IsAuthenticated, IsNotSuspended]

    @extend_schema(
        parameters=[OpenApiParameter("take_down_existing", bool, description="Also take down their videos.")],
        responses=ConsentChangeOutputSerializer,
        tags=TAGS,
        summary="Take someone off the lists",
    )
    def delete(self, request: Request, cameo_id: int, handle: str) -> Response:
        cameo = _owned(request, cameo_id)
        take_down = request.query_params.get("take_down_existing", "").lower() in {"1", "true", "yes"}
        change = services.cameo_access_remove(
            cameo=cameo, actor=request.user, user=_user_by_handle(handle), take_down_existing=take_down
        )
        return Response(_change_data(change))


def _request_rows():
    return CameoRequest.objects.select_related("cameo", "cameo__owner", "requester")


class CameoRequestsApi(APIView):
    permission_classes = [IsAuthenticated, IsNotSuspended]

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, description="pending (default), approved, denied, withdrawn, all"),
            *PAGE_PARAMS,
        ],
        responses=page_serializer(RequestOutputSerializer),
        tags=TAGS,
        summary="Requests to use my cameo",
    )
    def get(self, request: Request, cameo_id: int) -> Response:
        cameo = _owned(request, cameo_id)
        wanted = request.query_params.get("status", "pending")
        rows = selectors.requests_for(cameo=cameo, status=None if wanted == "all" else wanted)
        page, next_cursor = paginate_queryset(rows, request, ordering=NEWEST_FIRST)
        return Response(page_payload(request, RequestOutputSerializer(page, many=True).data, next_cursor))

    @extend_schema(
        request=RequestInputSerializer,
        responses={
            201: RequestOutputSerializer,
            **error_responses(e429="request_cooldown: the owner declined recently; retry_after_s says when"),
        },
        tags=TAGS,
        summary="Ask to use a cameo",
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
    )
    @idempotent
    def post(self, request: Request, cameo_id: int) -> Response:
        cameo, _ = selectors.cameo_get_visible(viewer=request.user, cameo_id=cameo_id)
        data = RequestInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        made = services.cameo_request_create(cameo=cameo, requester=request.user, **data.validated_data)
        return Response(RequestOutputSerializer(_request_rows().get(pk=made.pk)).data, status=status.HTTP_201_CREATED)


class RequestDecideApi(APIView):
    permission_classes = [IsAuthenticated, IsNotSuspended]

    @extend_schema(
        summary="Approve or deny a request to use my cameo",
        request=RequestDecideInputSerializer,
        responses=RequestOutputSerializer,
        tags=TAGS,
    )
    def post(self, request: Request, request_id: int) -> Response:
        data = RequestDecideInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        decided = services.cameo_request_decide(
            request_id=request_id, actor=request.user, approve=data.validated_data["decision"] == "approve"
        )
        return Response(RequestOutputSerializer(_request_rows().get(pk=decided.pk)).data)


class RequestWithdrawApi(APIView):
    permission_classes = [IsAuthenticated, IsNotSuspended]

    @extend_schema(summary="Withdraw a request I sent", request=None, responses=RequestOutputSerializer, tags=TAGS)
    def post(self, request: Request, request_id: int) -> Response:
        withdrawn = services.cameo_request_withdraw(request_id=request_id, requester=request.user)
        return Response(RequestOutputSerializer(_request_rows().get(pk=withdrawn.pk)).data)


class SentRequestsApi(APIView):
    @extend_schema(
        parameters=PAGE_PARAMS,
        responses=page_serializer(RequestOutputSerializer),
        tags=TAGS,
        summary="Requests I sent",
    )
    def get(self, request: Request) -> Response:
        rows = selectors.requests_by(requester=request.user).select_related("requester")
        page, next_cursor = paginate_queryset(rows, request, ordering=NEWEST_FIRST)
        return Response(page_payload(request, RequestOutputSerializer(page, many=True).data, next_cursor))


# --- appearances -----------------------------------------------------------------------------


class AppearanceListApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("status", str, description="active or removed"), *PAGE_PARAMS],
        responses=page_serializer(AppearanceOutputSerializer),
        tags=TAGS,
        summary="Every video my cameo is in, others' drafts included",
    )
    def get(self, request: Request, cameo_id: int) -> Response:
        cameo = _owned(request, cameo_id)
        rows = selectors.appearances_of(cameo=cameo, status=request.query_params.get("status") or None)
        page, next_cursor = paginate_queryset(rows, request, ordering=NEWEST_FIRST)
        return Response(page_payload(request, AppearanceOutputSerializer(page, many=True).data, next_cursor))


class AppearanceRemoveApi(APIView):
    permission_classes = [IsAuthenticated, IsNotSuspended]

    @extend_schema(
        request=AppearanceRemoveInputSerializer,
        responses=AppearanceOutputSerializer,
        tags=TAGS,
        summary="Remove a video featuring my cameo (taken down everywhere; its creator is told why)",
    )
    def post(self, request: Request, cameo_id: int, appearance_id: int) -> Response:
        cameo = _owned(request, cameo_id)
        data = AppearanceRemoveInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        removed = services.appearance_remove(
            appearance_id=appearance_id, cameo=cameo, actor=request.user, reason=data.validated_data["reason"]
        )
        removed = CameoAppearance.objects.select_related("creator").get(pk=removed.pk)
        return Response(AppearanceOutputSerializer(removed).data)


# --- private media (owner only; everyone else 404) -------------------------------------------


class ReferenceListApi(APIView):
    @extend_schema(responses=ReferencesOutputSerializer, tags=TAGS, summary="My cameo's reference media")
    def get(self, request: Request, cameo_id: int) -> Response:
        cameo = _owned(request, cameo_id)
        refs = [
            {
                "id": ref.pk,
                "role": ref.role,
                "index": ref.index,
                "width": ref.width,
                "height": ref.height,
                "is_primary": ref.is_primary,
                "download_url": reverse("cameo-reference-file", args=[cameo.pk, ref.pk]),
            }
            for ref in selectors.references_of(cameo=cameo)
        ]
        clip_url = reverse("cameo-clip", args=[cameo.pk]) if cameo.clip_path else None
        return Response(ReferencesOutputSerializer({"clip_url": clip_url, "references": refs}).data)


def _private_file(path: str) -> FileResponse:
    response = FileResponse(storage.open_file(path), content_type=storage.content_type_for(path))
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


class ReferenceFileApi(FileApi):
    @extend_schema(
        summary="One reference image of my cameo (PNG)", responses={(200, "image/png"): OpenApiTypes.BINARY}, tags=TAGS
    )
    def get(self, request: Request, cameo_id: int, reference_id: int) -> FileResponse:
        cameo = _owned(request, cameo_id)
        ref = selectors.references_of(cameo=cameo).filter(pk=reference_id).first()
        if ref is None:
            raise NotFound("reference_not_found", "No such reference.")
        return _private_file(ref.path)


class ClipFileApi(FileApi):
    @extend_schema(
        summary="My cameo's verification clip, in the container it was uploaded in (MP4 for the apps)",
        responses={(200, content_type): OpenApiTypes.BINARY for content_type in storage.CLIP_CONTENT_TYPES},
        tags=TAGS,
    )
    def get(self, request: Request, cameo_id: int) -> FileResponse:
        cameo = _owned(request, cameo_id)
        if not cameo.clip_path:
            raise NotFound("clip_not_found", "This cameo has no clip any more.")
        return _private_file(cameo.clip_path)


# --- characters and royalties ----------------------------------------------------------------


class LicenceApi(APIView):
    permission_classes = [IsAuthenticated, IsNotSuspended]

    @extend_schema(
        summary="Set a character cameo's licence fee",
        request=LicenceInputSerializer,
        responses=LicenceOutputSerializer,
        tags=TAGS,
    )
    def put(self, request: Request, cameo_id: int) -> Response:
        cameo = _owned(request, cameo_id)
        data = LicenceInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        licence = services.character_licence_set(cameo=cameo, actor=request.user, **data.validated_data)
        return Response(LicenceOutputSerializer(licence).data)


class RightsHolderGrantApi(APIView):
    permission_classes = [IsAuthenticated, IsStaff]

    @extend_schema(
        request=RightsHolderInputSerializer,
        responses=RightsHolderOutputSerializer,
        tags=TAGS,
        summary="Staff: mark an account as a rights holder",
    )
    def post(self, request: Request) -> Response:
        data = RightsHolderInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        holder = services.rights_holder_grant(
            user=_user_by_handle(data.validated_data["handle"]), organisation=data.validated_data["organisation"]
        )
        return Response(RightsHolderOutputSerializer(holder).data)


class RoyaltyStatementApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("since", OpenApiTypes.DATETIME, description="Period start (inclusive)."),
            OpenApiParameter("until", OpenApiTypes.DATETIME, description="Period end (exclusive)."),
            *PAGE_PARAMS,
        ],
        responses={200: RoyaltyStatementOutputSerializer, **error_responses(e403="not_a_rights_holder")},
        tags=TAGS,
        summary="A rights holder's royalty statement",
    )
    def get(self, request: Request) -> Response:
        owns_characters = Cameo.objects.filter(owner=request.user, kind="character").exists()
        if not (selectors.is_rights_holder(request.user) or owns_characters):
            raise Forbidden("not_a_rights_holder", "Royalty statements are for rights-holder accounts.")
        query = StatementQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        since, until = query.validated_data.get("since"), query.validated_data.get("until")
        body = selectors.royalty_statement_totals(user=request.user, since=since, until=until)
        rows = selectors.royalty_entries_for_rights_holder(user=request.user, since=since, until=until)
        page, next_cursor = paginate_queryset(rows, request, ordering=NEWEST_FIRST)
        paged = page_payload(request, [], next_cursor)
        body.update(entries=page, next_cursor=paged["next_cursor"], next=paged["next"])
        return Response(RoyaltyStatementOutputSerializer(body).data)
