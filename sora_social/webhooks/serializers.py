from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from sora_social.common.serializers import InputSerializer
from sora_social.webhooks import events


@extend_schema_field({"type": "string", "format": "uri", "maxLength": 2000, "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://"})
class WebhookUrlField(serializers.CharField):
    """An http(s) URL. What no schema states (a host Django's URL rules accept, resolving to public
    addresses, https in production) the service checks: 422 invalid_webhook_url."""


class WebhookCreateInputSerializer(InputSerializer):
    url = WebhookUrlField(max_length=2000)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=list(events.ALL_EVENTS)),
        required=False,
        default=list,
        help_text="Event types to receive; none = every type you may receive.",
    )
    description = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)


class WebhookOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.URLField()
    description = serializers.CharField()
    events = serializers.ListField(child=serializers.ChoiceField(choices=list(events.ALL_EVENTS)))
    secret_prefix = serializers.CharField(help_text="The secret's first characters (whsec_…).")
    created_at = serializers.DateTimeField()
    disabled_at = serializers.DateTimeField(allow_null=True)


class WebhookWithSecretOutputSerializer(WebhookOutputSerializer):
    secret = serializers.CharField(help_text="whsec_… (Standard Webhooks): shown now; rotate to see a new one.")


class WebhookAttemptSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    status_code = serializers.IntegerField(allow_null=True)
    error = serializers.CharField(allow_blank=True)
    duration_ms = serializers.IntegerField()


class WebhookDeliveryOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    event_id = serializers.CharField(help_text="The webhook-id header, the same on every attempt.")
    event_type = serializers.CharField()
    status = serializers.ChoiceField(choices=["pending", "succeeded", "failed"])
    attempts = serializers.IntegerField()
    response_status = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    attempt_log = WebhookAttemptSerializer(many=True)
    payload = serializers.JSONField(help_text="The body sent.")
