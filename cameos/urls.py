"""REST endpoints of the cameos app, mounted under /api/v1/."""

from django.urls import path

from cameos import apis

urlpatterns = [
    path("cameos", apis.CameoListCreateApi.as_view(), name="cameo-list"),
    path("cameos/challenges", apis.ChallengeCreateApi.as_view(), name="cameo-challenges"),
    path("cameos/challenges/<int:challenge_id>/card", apis.ChallengeCardApi.as_view(), name="cameo-challenge-card"),
    path("cameos/search", apis.CameoSearchApi.as_view(), name="cameo-search"),
    path("cameos/requests/sent", apis.SentRequestsApi.as_view(), name="cameo-requests-sent"),
    path("cameos/requests/<int:request_id>/decide", apis.RequestDecideApi.as_view(), name="cameo-request-decide"),
    path("cameos/requests/<int:request_id>/withdraw", apis.RequestWithdrawApi.as_view(), name="cameo-request-withdraw"),
    path("cameos/royalties/statement", apis.RoyaltyStatementApi.as_view(), name="cameo-royalty-statement"),
    path("cameos/rights-holders", apis.RightsHolderGrantApi.as_view(), name="cameo-rights-holders"),
    path("cameos/<int:cameo_id>", apis.CameoDetailApi.as_view(), name="cameo-detail"),
    path("cameos/<int:cameo_id>/revoke", apis.CameoRevokeApi.as_view(), name="cameo-revoke"),
    path("cameos/<int:cameo_id>/access", apis.AccessListApi.as_view(), name="cameo-access"),
    path("cameos/<int:cameo_id>/access/<str:handle>", apis.AccessEntryDeleteApi.as_view(), name="cameo-access-entry"),
    path("cameos/<int:cameo_id>/requests", apis.CameoRequestsApi.as_view(), name="cameo-requests"),
    path("cameos/<int:cameo_id>/appearances", apis.AppearanceListApi.as_view(), name="cameo-appearances"),
    path(
        "cameos/<int:cameo_id>/appearances/<int:appearance_id>/remove",
        apis.AppearanceRemoveApi.as_view(),
        name="cameo-appearance-remove",
    ),
    path("cameos/<int:cameo_id>/references", apis.ReferenceListApi.as_view(), name="cameo-references"),
    path(
        "cameos/<int:cameo_id>/references/<int:reference_id>/file",
        apis.ReferenceFileApi.as_view(),
        name="cameo-reference-file",
    ),
    path("cameos/<int:cameo_id>/clip", apis.ClipFileApi.as_view(), name="cameo-clip"),
    path("cameos/<int:cameo_id>/licence", apis.LicenceApi.as_view(), name="cameo-licence"),
    path("users/<str:handle>/cameos", apis.UserCameosApi.as_view(), name="user-cameos"),
]
