from django.urls import path

from sora_social.webhooks import apis

urlpatterns = [
    path("webhooks", apis.WebhookListCreateApi.as_view(), name="webhooks"),
    path("webhooks/<int:webhook_id>", apis.WebhookDetailApi.as_view(), name="webhook-detail"),
    path("webhooks/<int:webhook_id>/secret", apis.WebhookSecretRotateApi.as_view(), name="webhook-secret"),
    path("webhooks/<int:webhook_id>/test", apis.WebhookTestApi.as_view(), name="webhook-test"),
    path("webhooks/<int:webhook_id>/deliveries", apis.WebhookDeliveryListApi.as_view(), name="webhook-deliveries"),
]
