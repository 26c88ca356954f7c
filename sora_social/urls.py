from django.contrib import admin
from django.db import connection
from django.http import JsonResponse
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView


def health(request):
    """Liveness plus the database and Redis answering, for load balancers and the demo."""
    from django.core.cache import cache

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    cache.set("health", "ok", 5)
    return JsonResponse({"status": "ok", "database": "ok", "redis": cache.get("health")})


api_v1 = [
    path("", include("sora_social.users.urls")),
    path("", include("sora_social.notifications.urls")),
    path("", include("cameos.urls")),
    path("", include("generation.urls")),
    path("", include("feed.urls")),
    path("", include("feed.ranking.urls")),
    path("", include("moderation.urls")),
]

urlpatterns = [
    path("healthz", health, name="health"),
    path("api/v1/", include(api_v1)),
    path("v1/", include("generation.openai_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("console/", admin.site.urls),
]
