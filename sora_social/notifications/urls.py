from django.urls import path

from sora_social.notifications import apis

urlpatterns = [
    path("notifications", apis.NotificationListApi.as_view(), name="notifications"),
    path("notifications/unread-count", apis.UnreadCountApi.as_view(), name="notifications-unread-count"),
    path("notifications/mark-read", apis.MarkReadApi.as_view(), name="notifications-mark-read"),
]
