"""Responses must match the Output serializers the OpenAPI schema is generated from."""

from __future__ import annotations

from rest_framework import serializers


def assert_shape(serializer_class: type[serializers.Serializer], data: dict) -> None:
    serializer = serializer_class(data=data)
    assert serializer.is_valid(), serializer.errors
    missing = set(serializer_class().fields) - set(data)
    assert not missing, f"response lacks {sorted(missing)}"
