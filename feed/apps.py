from django.apps import AppConfig


class FeedConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "feed"

    def ready(self) -> None:
        # Register feed's handlers with the ports of the apps below it (they cannot import feed).
        from cameos import ports as cameo_ports
        from feed import handlers
        from generation import ports as generation_ports
        from sora_social.notifications import ports as notification_ports

        generation_ports.register_video_viewer_check(handlers.video_visible_through_posts)
        generation_ports.register_video_taken_down_handler(handlers.video_taken_down)
        generation_ports.register_video_restored_handler(handlers.video_restored)
        generation_ports.register_remix_source_resolver(handlers.remix_source)
        cameo_ports.register_video_takedown(handlers.cameo_appearance_removed)
        notification_ports.register_target_visibility("post", handlers.posts_visible_for_notifications)
        notification_ports.register_target_visibility("comment", handlers.comments_visible_for_notifications)

        # Leaving (users.ports): the user's posts, comments, likes, shares, hides and events.
        from feed.account import feed_erase_for_account, feed_export_for_account
        from sora_social.users import ports as user_ports

        user_ports.register_account_exporter(feed_export_for_account)
        user_ports.register_account_eraser(feed_erase_for_account, order=user_ports.ORDER_FEED)
