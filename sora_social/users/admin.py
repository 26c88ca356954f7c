from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from sora_social.users.models import AuthToken, Block, Follow, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["-created_at"]
    list_display = ["handle", "display_name", "date_of_birth", "is_active", "suspended_until", "created_at"]
    list_filter = ["is_active", "is_staff"]
    search_fields = ["handle", "display_name", "email"]
    fieldsets = [
        (None, {"fields": ["handle", "password"]}),
        ("Profile", {"fields": ["display_name", "email", "bio", "avatar", "date_of_birth", "timezone"]}),
        ("Status", {"fields": ["is_active", "suspended_until"]}),
        ("Staff", {"fields": ["is_staff", "is_superuser", "groups", "user_permissions"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["handle", "password1", "password2"]})]


@admin.register(Follow)
class FollowAdmin(admin.ModelAdmin):
    list_display = ["follower", "followee", "created_at"]
    raw_id_fields = ["follower", "followee"]


@admin.register(Block)
class BlockAdmin(admin.ModelAdmin):
    list_display = ["blocker", "blocked", "created_at"]
    raw_id_fields = ["blocker", "blocked"]


@admin.register(AuthToken)
class AuthTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "user", "name", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["digest", "prefix", "user", "created_at", "last_used_at", "expires_at"]
    raw_id_fields = ["user"]
