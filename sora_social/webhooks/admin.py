from django.contrib import admin

from sora_social.webhooks.models import WebhookDelivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "url", "created_at", "disabled_at")
    search_fields = ("url", "user__handle")
    exclude = ("secret",)
    raw_id_fields = ("user",)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("id", "endpoint", "event_type", "status", "attempts", "response_status", "created_at")
    list_filter = ("status", "event_type")
    raw_id_fields = ("endpoint",)
    readonly_fields = ("payload", "attempt_log")
