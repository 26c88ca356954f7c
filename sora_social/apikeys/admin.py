from django.contrib import admin, messages

from sora_social.apikeys.models import ApiKey
from sora_social.apikeys.services import api_key_revoke


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Staff set a key's plan or its own quota here; the secret is never shown (only a digest
    exists). Revoking goes through the service (the action), so the key's websockets close."""

    list_display = ["prefix", "name", "user", "scopes", "plan", "daily_credits", "max_in_flight", "revoked_at"]
    list_filter = ["plan"]
    search_fields = ["prefix", "name", "user__handle"]
    readonly_fields = ["user", "digest", "prefix", "created_at", "last_used_at", "revoked_at"]
    fields = [
        "user",
        "name",
        "prefix",
        "digest",
        "scopes",
        "plan",
        "daily_credits",
        "max_in_flight",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    ]
    actions = ["revoke"]

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request, queryset) -> None:
        for key in queryset.filter(revoked_at__isnull=True):
            api_key_revoke(user=key.user, key_id=key.pk)
        messages.success(request, "Revoked.")
