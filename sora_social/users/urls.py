from django.urls import path

from sora_social.users import apis

urlpatterns = [
    path("auth/signup", apis.SignupApi.as_view(), name="auth-signup"),
    path("auth/login", apis.LoginApi.as_view(), name="auth-login"),
    path("auth/logout", apis.LogoutApi.as_view(), name="auth-logout"),
    path("auth/password", apis.PasswordChangeApi.as_view(), name="auth-password"),
    path("auth/password/reset", apis.PasswordResetRequestApi.as_view(), name="auth-password-reset"),
    path("auth/password/reset/confirm", apis.PasswordResetConfirmApi.as_view(), name="auth-password-reset-confirm"),
    path("auth/tokens", apis.TokenListApi.as_view(), name="auth-tokens"),
    path("auth/tokens/<int:token_id>", apis.TokenRevokeApi.as_view(), name="auth-token-revoke"),
    path("me", apis.MeApi.as_view(), name="me"),
    path("account", apis.AccountApi.as_view(), name="account"),
    path("account/export", apis.AccountExportListCreateApi.as_view(), name="account-exports"),
    path("account/export/<int:export_id>", apis.AccountExportDetailApi.as_view(), name="account-export"),
    path(
        "account/export/<int:export_id>/download",
        apis.AccountExportDownloadApi.as_view(),
        name="account-export-download",
    ),
    path("me/blocks", apis.BlockListApi.as_view(), name="me-blocks"),
    path("users/<str:handle>", apis.ProfileApi.as_view(), name="profile"),
    path("users/<str:handle>/follow", apis.FollowApi.as_view(), name="follow"),
    path("users/<str:handle>/block", apis.BlockApi.as_view(), name="block"),
    path("users/<str:handle>/followers", apis.FollowersApi.as_view(), name="followers"),
    path("users/<str:handle>/following", apis.FollowingApi.as_view(), name="following"),
    path("users/<str:handle>/friends", apis.FriendsApi.as_view(), name="friends"),
]
