"""The console for cameos: read what owners set and what verification found; grant rights holders.

Consent belongs to owners, so the console does not edit audiences, lists or appearances, and the
royalty ledger is append-only here too (no add, change or delete).
"""

from __future__ import annotations

from django.contrib import admin

from cameos import services
from cameos.models import (
    Cameo,
    CameoAccessEntry,
    CameoAppearance,
    CameoChallenge,
    CameoReference,
    CameoRequest,
    CharacterLicence,
    RightsHolder,
    RoyaltyEntry,
)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class ReferenceInline(ReadOnlyInline):
    model = CameoReference
    fields = ("index", "role", "is_primary", "width", "height", "created_at")
    readonly_fields = fields


class AccessEntryInline(ReadOnlyInline):
    model = CameoAccessEntry
    fields = ("user", "effect", "created_at")
    readonly_fields = fields


class LicenceInline(admin.StackedInline):
    model = CharacterLicence
    extra = 0
    can_delete = False
    readonly_fields = ("allowed_themes", "forbidden_themes", "fee_credits", "rights_holder_share_bps", "updated_at")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Cameo)
class CameoAdmin(admin.ModelAdmin):
    list_display = ("id", "display_name", "kind", "owner", "status", "audience", "rejection_code", "created_at")
    list_filter = ("kind", "status", "audience", "rejection_code")
    search_fields = ("name", "display_name", "owner__handle")
    raw_id_fields = ("owner", "challenge")
    inlines = (LicenceInline, ReferenceInline, AccessEntryInline)
    readonly_fields = (
        "owner", "kind", "name", "display_name", "description", "aliases", "status", "rejection_code",
        "rejection_reason", "audience", "instructions", "restrictions", "challenge", "clip_duration_s",
        "clip_width", "clip_height", "embedding_version", "verification", "created_at", "updated_at",
        "verified_at", "revoked_at",
    )  # fmt: skip
    exclude = ("embedding", "clip_path")  # private media paths stay out of the console

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CameoChallenge)
class CameoChallengeAdmin(admin.ModelAdmin):
    list_display = ("id", "owner", "kind", "name", "created_at", "expires_at", "used_at")
    list_filter = ("kind",)
    search_fields = ("owner__handle", "name")
    readonly_fields = ("owner", "kind", "name", "display_name", "created_at", "expires_at", "used_at")
    exclude = ("code",)

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(CameoRequest)
class CameoRequestAdmin(admin.ModelAdmin):
    list_display = ("id", "cameo", "requester", "status", "created_at", "decided_at")
    list_filter = ("status",)
    search_fields = ("requester__handle", "cameo__name")
    readonly_fields = ("cameo", "requester", "message", "status", "created_at", "decided_at")

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(CameoAppearance)
class CameoAppearanceAdmin(admin.ModelAdmin):
    list_display = ("id", "cameo", "creator", "video_id", "job_id", "status", "created_at", "removed_at")
    list_filter = ("status",)
    search_fields = ("creator__handle", "cameo__name", "video_id")
    readonly_fields = (
        "cameo", "creator", "video_id", "job_id", "status", "removed_reason", "removed_by", "removed_at",
        "created_at",
    )  # fmt: skip

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(RightsHolder)
class RightsHolderAdmin(admin.ModelAdmin):
    list_display = ("user", "organisation", "is_active", "granted_at")
    list_filter = ("is_active",)
    search_fields = ("user__handle", "organisation")
    raw_id_fields = ("user",)
    fields = ("user", "organisation", "is_active")

    def save_model(self, request, obj, form, change) -> None:
        # Through the services, like every other write.
        if obj.is_active:
            saved = services.rights_holder_grant(user=obj.user, organisation=obj.organisation)
            obj.pk = saved.pk
        else:
            services.rights_holder_revoke(user=obj.user)


@admin.register(RoyaltyEntry)
class RoyaltyEntryAdmin(admin.ModelAdmin):
    list_display = ("id", "created_at", "entry_type", "party", "account", "cameo", "amount", "job_id", "video_id")
    list_filter = ("party", "entry_type")
    search_fields = ("account__handle", "cameo__name", "job_id")
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
