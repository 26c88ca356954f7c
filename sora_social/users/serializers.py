from __future__ import annotations

from rest_framework import serializers

from sora_social.common.serializers import InputSerializer
from sora_social.users.fields import PASSWORD_MAX_LENGTH, HandleField, NewPasswordField, TimezoneField
from sora_social.users.models import AuthToken, User


class UserSummarySerializer(serializers.ModelSerializer):
    """How another user appears inside lists and other objects."""

    avatar_url = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "handle", "display_name", "avatar_url"]

    def get_avatar_url(self, user: User) -> str | None:
        return user.avatar.url if user.avatar else None


class RelationshipSerializer(serializers.Serializer):
    following = serializers.BooleanField(help_text="I follow them.")
    followed_by = serializers.BooleanField(help_text="They follow me.")
    friends = serializers.BooleanField(help_text="Both: mutual follows.")
    blocking = serializers.BooleanField(help_text="I blocked them.")


class PublicProfileSerializer(UserSummarySerializer):
    followers_count = serializers.IntegerField()
    following_count = serializers.IntegerField()
    relationship = RelationshipSerializer()

    class Meta(UserSummarySerializer.Meta):
        fields = [
            *UserSummarySerializer.Meta.fields,
            "bio",
            "created_at",
            "followers_count",
            "following_count",
            "relationship",
        ]


class OwnProfileSerializer(UserSummarySerializer):
    is_minor = serializers.BooleanField()
    followers_count = serializers.IntegerField()
    following_count = serializers.IntegerField()

    class Meta(UserSummarySerializer.Meta):
        fields = [
            *UserSummarySerializer.Meta.fields,
            "bio",
            "email",
            "date_of_birth",
            "timezone",
            "is_minor",
            "created_at",
            "followers_count",
            "following_count",
        ]


class SignupInputSerializer(InputSerializer):
    handle = HandleField()
    password = NewPasswordField()
    date_of_birth = serializers.DateField()
    display_name = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    timezone = TimezoneField(required=False, default="UTC")
    device_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class LoginInputSerializer(InputSerializer):
    handle = serializers.CharField(max_length=40)
    # As it was set (NewPasswordField keeps spaces): a trimmed one never matched a password that
    # begins or ends with a space.
    password = serializers.CharField(max_length=PASSWORD_MAX_LENGTH, write_only=True, trim_whitespace=False)
    device_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class PasswordChangeInputSerializer(InputSerializer):
    current_password = serializers.CharField(max_length=128, write_only=True, trim_whitespace=False)
    new_password = NewPasswordField()


class PasswordChangeOutputSerializer(serializers.Serializer):
    revoked_tokens = serializers.IntegerField(help_text="How many of your other tokens were revoked.")


class PasswordResetRequestInputSerializer(InputSerializer):
    email = serializers.EmailField(max_length=254)


class PasswordResetRequestOutputSerializer(serializers.Serializer):
    detail = serializers.CharField()


class PasswordResetConfirmInputSerializer(InputSerializer):
    uid = serializers.CharField(max_length=64)
    token = serializers.CharField(max_length=128)
    new_password = NewPasswordField()


class TokenOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuthToken
        fields = ["id", "name", "prefix", "created_at", "last_used_at", "expires_at"]


class IssuedTokenOutputSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="The bearer secret. Shown once; only its digest is stored.")
    token_id = serializers.IntegerField()
    expires_at = serializers.DateTimeField()
    user = OwnProfileSerializer()


class ProfileUpdateInputSerializer(InputSerializer):
    handle = HandleField(required=False)
    display_name = serializers.CharField(max_length=60, required=False, allow_blank=True)
    bio = serializers.CharField(max_length=300, required=False, allow_blank=True)
    timezone = TimezoneField(required=False)


class ProfileUpdateUploadInputSerializer(ProfileUpdateInputSerializer):
    """The same change as multipart/form-data, with an avatar image (JSON cannot carry a file)."""

    avatar = serializers.ImageField(required=False)


class FollowEdgeOutputSerializer(serializers.Serializer):
    user = UserSummarySerializer()
    since = serializers.DateTimeField()


class AccountDeleteInputSerializer(InputSerializer):
    password = serializers.CharField(
        trim_whitespace=False, max_length=200, help_text="The account's password, entered again to confirm."
    )


class AccountDeletionOutputSerializer(serializers.Serializer):
    deleted = serializers.BooleanField()
    deleted_at = serializers.DateTimeField()
    counts = serializers.DictField(
        child=serializers.IntegerField(), help_text="What each app erased, anonymised or took down."
    )


class AccountExportOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["pending", "ready", "failed"])
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True, help_text="The archive is erased after this.")
    size_bytes = serializers.IntegerField(allow_null=True)
    file_count = serializers.IntegerField(help_text="Media files in the archive.")
    error = serializers.CharField(allow_blank=True)
    download_url = serializers.CharField(
        allow_null=True, help_text="Signed link to the ZIP (no bearer token needed); expires within an hour."
    )
