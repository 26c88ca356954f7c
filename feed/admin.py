from django.contrib import admin

from feed.models import Comment, Hide, Like, Post, PostCameo, Share


class PostCameoInline(admin.TabularInline):
    model = PostCameo
    raw_id_fields = ["cameo"]
    extra = 0


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "author",
        "visibility",
        "depth",
        "remix_count",
        "descendant_count",
        "created_at",
        "deleted_at",
    ]
    list_filter = ["visibility", "remix_permission", "delete_kind"]
    search_fields = ["caption", "author__handle"]
    raw_id_fields = ["author", "video", "remix_of", "root", "deleted_by"]
    readonly_fields = ["depth", "remix_count", "descendant_count", "like_count", "comment_count", "share_count"]
    inlines = [PostCameoInline]


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ["id", "post", "author", "parent", "created_at", "deleted_at"]
    list_filter = ["delete_kind"]
    search_fields = ["body", "author__handle"]
    raw_id_fields = ["post", "author", "parent", "deleted_by"]


@admin.register(Like)
class LikeAdmin(admin.ModelAdmin):
    list_display = ["user", "post", "created_at"]
    raw_id_fields = ["user", "post"]


@admin.register(Share)
class ShareAdmin(admin.ModelAdmin):
    list_display = ["user", "post", "channel", "created_at"]
    raw_id_fields = ["user", "post"]


@admin.register(Hide)
class HideAdmin(admin.ModelAdmin):
    list_display = ["user", "post", "created_at"]
    raw_id_fields = ["user", "post"]
