"""The moderator's own console pages, mounted at /console/ ahead of Django admin (so the console
opens on the queue; admin's model lists stay under /console/data/ and /console/<app>/...)."""

from django.contrib import admin
from django.urls import path

from moderation import console_views

wrap = admin.site.admin_view  # staff session required; others go to the console's log-in

urlpatterns = [
    path("", wrap(console_views.queue_view), name="console-queue"),
    path("data/", wrap(admin.site.index), name="console-data"),
    path("metrics/", wrap(console_views.metrics_view), name="console-metrics"),
    path("cases/next/", wrap(console_views.case_next_view), name="console-case-next"),
    path("cases/<int:case_id>/claim/", wrap(console_views.case_claim_view), name="console-case-claim"),
    path("cases/<int:case_id>/release/", wrap(console_views.case_release_view), name="console-case-release"),
    path("cases/<int:case_id>/thumbnail/", wrap(console_views.case_thumbnail_view), name="console-case-thumbnail"),
]
