from django.urls import path

from sora_social.apikeys import apis

urlpatterns = [
    path("api-keys", apis.ApiKeyListCreateApi.as_view(), name="api-keys"),
    path("api-keys/current", apis.ApiKeyCurrentApi.as_view(), name="api-key-current"),
    path("api-keys/<int:key_id>", apis.ApiKeyDetailApi.as_view(), name="api-key-detail"),
]
