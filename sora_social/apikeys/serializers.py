from rest_framework import serializers

from sora_social.apikeys.models import ApiKeyScope
from sora_social.common.serializers import InputSerializer


class ApiKeyCreateInputSerializer(InputSerializer):
    name = serializers.CharField(max_length=100, help_text="The app that will use the key.")
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=ApiKeyScope.choices),
        min_length=1,
        max_length=3,
        help_text="`videos`: /v1/videos and /api/v1/generations; `social`: the rest of the app; `all`: both.",
    )
    expires_in_days = serializers.IntegerField(
        min_value=1,
        max_value=3650,
        required=False,
        allow_null=True,
        help_text="Omit for a key that lives until revoked.",
    )


class ApiKeyQuotaSerializer(serializers.Serializer):
    plan = serializers.CharField()
    daily_credits = serializers.IntegerField(help_text="Credits the key may spend per UTC day.")
    max_in_flight = serializers.IntegerField(help_text="Generations the key may have queued or running at once.")


class ApiKeyUsageSerializer(serializers.Serializer):
    credits_used_today = serializers.IntegerField()
    credits_remaining_today = serializers.IntegerField()
    jobs_in_flight = serializers.IntegerField()
    resets_at = serializers.DateTimeField()


class ApiKeyOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField(help_text="The secret's first characters, to tell keys apart.")
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=ApiKeyScope.choices))
    quota = ApiKeyQuotaSerializer()
    usage = ApiKeyUsageSerializer()
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)


class ApiKeyIssuedOutputSerializer(ApiKeyOutputSerializer):
    key = serializers.CharField(help_text="The secret (`sk-…`). Shown once; only its digest is stored.")
