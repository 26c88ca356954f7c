"""Request bodies are validated exactly as the schema describes them.

DRF coerces on input: a CharField takes `0` as "0", a BooleanField takes `0`, `"yes"` or `"on"`,
an IntegerField takes `"4"` and `4.0`, a ChoiceField with string choices takes the number `4`;
and it ignores fields it does not declare. The schema (drf-spectacular, from the same
serializers) says `string`, `boolean`, `integer` and lists the properties, so a client or a
fuzzer that believes the schema would see a server that accepts what the schema calls invalid.

`InputSerializer` is the base of every request-body serializer of /api/v1:
- a JSON value of the wrong JSON type is refused, at any depth (lists and nested serializers);
- a field it does not declare is refused (`unknown_field`), and the schema says
  `additionalProperties: false` (sora_social/common/schema.py).
A multipart or form body (uploads) carries only strings, so types are left to the fields there;
unknown fields are refused the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import QueryDict
from rest_framework import serializers

_TEXT_FIELDS = (
    serializers.CharField,
    serializers.DateField,
    serializers.DateTimeField,
    serializers.TimeField,
    serializers.DurationField,
    serializers.UUIDField,
)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _choice_type_ok(field: serializers.ChoiceField, value: Any) -> bool:
    keys = list(field.choices)
    if all(isinstance(k, str) for k in keys):
        return isinstance(value, str)
    if all(_is_int(k) for k in keys):
        return _is_int(value)
    return True


def json_type_error(field: serializers.Field, value: Any) -> str | None:
    """Why `value` (parsed JSON) is not of the JSON type the schema gives `field`, or None."""
    if value is None:
        return None  # `nullable` is the field's own allow_null check
    if isinstance(field, serializers.BooleanField):
        return None if isinstance(value, bool) else "Must be a boolean (true or false)."
    if isinstance(field, serializers.IntegerField):
        return None if _is_int(value) else "Must be an integer."
    if isinstance(field, serializers.FloatField | serializers.DecimalField):
        return None if isinstance(value, int | float) and not isinstance(value, bool) else "Must be a number."
    if isinstance(field, serializers.MultipleChoiceField | serializers.ListField | serializers.ListSerializer):
        if not isinstance(value, list):
            return "Must be an array."
        child = field.child
        if child is None:
            return None
        for index, item in enumerate(value):
            if isinstance(field, serializers.MultipleChoiceField):
                problem = None if _choice_type_ok(field, item) else "Must be one of the listed values."
            else:
                problem = json_type_error(child, item)
            if problem:
                return f"Item {index}: {problem}"
        return None
    if isinstance(field, serializers.ChoiceField):
        return None if _choice_type_ok(field, value) else "Must be one of the listed values."
    if isinstance(field, serializers.FileField):
        return "Must be a file (send the body as multipart/form-data)."
    if isinstance(field, _TEXT_FIELDS):
        return None if isinstance(value, str) else "Must be a string."
    if isinstance(field, serializers.DictField | serializers.Serializer):
        # A nested InputSerializer checks its own fields when it validates.
        return None if isinstance(value, dict) else "Must be an object."
    return None


class InputSerializer(serializers.Serializer):
    # No docstring: drf-spectacular would give it to every request component as its description.

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            errors: dict[str, list[str]] = {}
            declared = {name for name, field in self.fields.items() if not field.read_only}
            for name in data:
                if name not in declared:
                    errors[str(name)] = ["Unknown field."]
            if isinstance(data, QueryDict):
                # DRF skips an optional form field sent empty; the schema says it may not be blank.
                for name in declared & set(data):
                    field = self.fields[name]
                    if data.get(name) == "" and not getattr(field, "allow_blank", True) and not field.allow_null:
                        errors[name] = ["This field may not be blank."]
            else:
                for name in declared & set(data):
                    problem = json_type_error(self.fields[name], data[name])
                    if problem:
                        errors[name] = [problem]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)
