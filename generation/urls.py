from django.urls import path

from generation import apis, job_apis

# REST endpoints of the generation app, mounted under /api/v1/.
urlpatterns = [
    path("videos", apis.VideoListCreateApi.as_view(), name="videos"),
    path("videos/<int:video_id>", apis.VideoDetailApi.as_view(), name="video-detail"),
    path("videos/<int:video_id>/content", apis.VideoContentApi.as_view(), name="video-content"),
    path("generations", job_apis.GenerationListCreateApi.as_view(), name="generations"),
    path("generations/<str:job_id>", job_apis.GenerationDetailApi.as_view(), name="generation-detail"),
    path("generations/<str:job_id>/cancel", job_apis.GenerationCancelApi.as_view(), name="generation-cancel"),
    path("drafts", job_apis.DraftListApi.as_view(), name="drafts"),
    path("credits", job_apis.CreditBalanceApi.as_view(), name="credits"),
    path("credits/ledger", job_apis.CreditLedgerApi.as_view(), name="credits-ledger"),
    path("credits/grants", job_apis.CreditGrantApi.as_view(), name="credits-grant"),
]
