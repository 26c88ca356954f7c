"""Console pages for generation. Everything here is read-only: a video is taken down or restored
through moderation (which calls generation's services, so posts and notifications follow), jobs
move only through their services, and the credits ledger is append-only."""

from django.contrib import admin

from generation.models import CreditEntry, GenerationJob, Video, VideoRendition


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class RenditionInline(admin.StackedInline):
    model = VideoRendition
    can_delete = False
    readonly_fields = [
        "spritesheet",
        "c2pa_signed",
        "c2pa_manifest_label",
        "watermark_text",
        "backend",
        "model",
        "media_policy",
        "posted_at",
        "remote_video_id",
    ]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Video)
class VideoAdmin(ReadOnlyAdmin):
    list_display = ["id", "created_by", "source", "status", "duration_s", "width", "height", "created_at"]
    list_filter = ["status", "source"]
    search_fields = ["sha256", "created_by__handle"]
    raw_id_fields = ["created_by"]
    inlines = [RenditionInline]


@admin.register(GenerationJob)
class GenerationJobAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "user", "kind", "status", "progress", "error_code", "backend", "created_at"]
    list_filter = ["status", "kind", "source", "backend"]
    search_fields = ["public_id", "user__handle", "prompt"]
    raw_id_fields = ["user", "source_video", "source_job", "result_video"]
    date_hierarchy = "created_at"


@admin.register(CreditEntry)
class CreditEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "user", "pool", "kind", "amount", "job", "note"]
    list_filter = ["pool", "kind"]
    search_fields = ["user__handle", "reference", "job__public_id"]
    raw_id_fields = ["user", "job"]
