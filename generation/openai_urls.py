"""The OpenAI-compatible Videos API, mounted at /v1/ (so an SDK's base_url is <server>/v1)."""

from django.urls import path

from generation import openai_api

urlpatterns = [
    path("models", openai_api.OpenAIModelsApi.as_view(), name="openai-models"),
    path("models/<str:model>", openai_api.OpenAIModelDetailApi.as_view(), name="openai-model"),
    path("videos", openai_api.OpenAIVideosApi.as_view(), name="openai-videos"),
    path("videos/extensions", openai_api.OpenAIVideoExtendApi.as_view(), name="openai-videos-extend"),
    path("videos/edits", openai_api.OpenAIVideoEditApi.as_view(), name="openai-videos-edit"),
    path("videos/characters", openai_api.OpenAICharactersApi.as_view(), name="openai-characters"),
    path(
        "videos/characters/<str:character_id>",
        openai_api.OpenAICharacterDetailApi.as_view(),
        name="openai-character",
    ),
    path("videos/<str:video_id>", openai_api.OpenAIVideoDetailApi.as_view(), name="openai-video"),
    path("videos/<str:video_id>/content", openai_api.OpenAIVideoContentApi.as_view(), name="openai-video-content"),
    path("videos/<str:video_id>/remix", openai_api.OpenAIVideoRemixApi.as_view(), name="openai-video-remix"),
]
