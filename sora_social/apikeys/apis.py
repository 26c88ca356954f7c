"""Thin REST views: a person creates, lists and revokes their apps' keys; a key reads itself."""

from __future__ import annotations

from dataclasses import asdict

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sora_social.apikeys import selectors, services
from sora_social.apikeys.authentication import request_api_key
from sora_social.apikeys.models import ApiKey
from sora_social.apikeys.permissions import SCOPE_ACCOUNT, SCOPE_ANY
from sora_social.apikeys.ports import key_usage
from sora_social.apikeys.serializers import (
    ApiKeyCreateInputSerializer,
    ApiKeyIssuedOutputSerializer,
    ApiKeyOutputSerializer,
)
from sora_social.common.errors import Forbidden


def api_key_data(key: ApiKey) -> dict:
    return {
        "id": key.pk,
        "name": key.name,
        "prefix": key.prefix,
        "scopes": list(key.scopes),
        "quota": asdict(selectors.api_key_quota(key)),
        "usage": key_usage(key=key),
        "created_at": key.created_at,
        "last_used_at": key.last_used_at,
        "expires_at": key.expires_at,
        "revoked_at": key.revoked_at,
    }


class ApiKeyListCreateApi(APIView):
    api_key_scope = SCOPE_ACCOUNT

    @extend_schema(
        operation_id="api_keys_list",
        summary="List my apps' API keys",
        responses=ApiKeyOutputSerializer(many=True),
        tags=["api-keys"],
    )
    def get(self, request: Request) -> Response:
        return Response([api_key_data(k) for k in selectors.api_key_list(user=request.user)])

    @extend_schema(
        operation_id="api_keys_create",
        summary="Make an API key for an app; the secret is in this answer only",
        request=ApiKeyCreateInputSerializer,
        responses={
            201: ApiKeyIssuedOutputSerializer,
            400: OpenApiResponse(description="invalid, name_required"),
            409: OpenApiResponse(description="too_many_api_keys"),
        },
        tags=["api-keys"],
    )
    def post(self, request: Request) -> Response:
        # Not wrapped by `idempotent`: a stored replay would keep the secret in the database.
        data = ApiKeyCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        key, secret = services.api_key_create(
            user=request.user, name=v["name"], scopes=v["scopes"], expires_in_days=v.get("expires_in_days")
        )
        return Response({**api_key_data(key), "key": secret}, status=status.HTTP_201_CREATED)


class ApiKeyDetailApi(APIView):
    api_key_scope = SCOPE_ACCOUNT

    @extend_schema(
        operation_id="api_keys_retrieve",
        summary="One of my API keys, with its use today",
        responses={200: ApiKeyOutputSerializer, 404: OpenApiResponse(description="api_key_not_found")},
        tags=["api-keys"],
    )
    def get(self, request: Request, key_id: int) -> Response:
        return Response(api_key_data(selectors.api_key_get_owned(user=request.user, key_id=key_id)))

    @extend_schema(
        operation_id="api_keys_revoke",
        summary="Revoke an API key; it stops working at once",
        responses={204: None, 404: OpenApiResponse(description="api_key_not_found")},
        tags=["api-keys"],
    )
    def delete(self, request: Request, key_id: int) -> Response:
        services.api_key_revoke(user=request.user, key_id=key_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ApiKeyCurrentApi(APIView):
    api_key_scope = SCOPE_ANY

    @extend_schema(
        operation_id="api_keys_current",
        summary="The API key making this request: its scopes, quota and use today",
        responses={200: ApiKeyOutputSerializer, 403: OpenApiResponse(description="not_an_api_key")},
        tags=["api-keys"],
    )
    def get(self, request: Request) -> Response:
        key = request_api_key(request)
        if key is None:
            # 403: the request is well-formed, its credential is not one this route answers.
            raise Forbidden("not_an_api_key", "This request was not made with an API key.")
        return Response(api_key_data(key))
