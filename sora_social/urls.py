from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from sora_social.common import views as common_views
from sora_social.notifications.apis import WebsocketSchemaApi

api_v1 = [
    path("", include("sora_social.users.urls")),
    path("", include("sora_social.apikeys.urls")),
    path("", include("sora_social.webhooks.urls")),
    path("", include("sora_social.notifications.urls")),
    path("", include("cameos.urls")),
    path("", include("generation.urls")),
    path("", include("feed.urls")),
    path("", include("feed.ranking.urls")),
    path("", include("moderation.urls")),
]

urlpatterns = [
    path("healthz", common_views.healthz, name="health"),
    path("readyz", common_views.readyz, name="ready"),
    path("metrics", common_views.metrics, name="metrics"),
    path("api/v1/", include(api_v1)),
    path("v1/", include("generation.openai_urls")),
    path("api/schema/websocket.json", WebsocketSchemaApi.as_view(), name="schema-websocket"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    # The moderator's pages (the queue at /console/, metrics, claims) before Django admin's.
    path("console/", include("moderation.console_urls")),
    path("console/", admin.site.urls),
]

# JSON for unknown paths and unhandled errors (503 with Retry-After when a service is down).
handler400 = common_views.bad_request
handler403 = common_views.permission_denied
handler404 = common_views.page_not_found
handler500 = common_views.server_error
