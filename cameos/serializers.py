"""Small Input/Output serializers of the cameos API."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cameos import constants
from cameos.models import (
    CameoAccessEntry,
    CameoAppearance,
    CameoAudience,
    CameoKind,
    CameoReference,
    CameoRequest,
    CameoStatus,
    RoyaltyEntry,
    RoyaltyParty,
)
from sora_social.common.schema import enum_field
from sora_social.common.serializers import InputSerializer
from sora_social.users.fields import HandleField


class UserRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    handle = serializers.CharField()
    display_name = serializers.CharField()


class DecisionSerializer(serializers.Serializer):
    allowed = serializers.BooleanField()
    code = serializers.CharField()
    reason = serializers.CharField()


class LicenceOutputSerializer(serializers.Serializer):
    allowed_themes = serializers.ListField(child=serializers.CharField())
    forbidden_themes = serializers.ListField(child=serializers.CharField())
    fee_credits = serializers.IntegerField()
    rights_holder_share_bps = serializers.IntegerField()


class CameoOutputSerializer(serializers.Serializer):
    """A cameo as anyone who may see it sees it, with the viewer's own decision."""

    id = serializers.IntegerField()
    kind = enum_field("CameoKind", CameoKind.choices)
    name = serializers.CharField()
    display_name = serializers.CharField()
    description = serializers.CharField()
    owner = UserRefSerializer()
    status = enum_field("CameoStatus", CameoStatus.choices)
    audience = enum_field("CameoAudience", CameoAudience.choices)
    instructions = serializers.CharField(help_text="What the generator must respect when featuring this cameo.")
    restrictions = serializers.ListField(child=serializers.CharField())
    licence = serializers.SerializerMethodField()
    can_use = DecisionSerializer(source="viewer_decision", help_text="Whether you may feature it, and why.")
    created_at = serializers.DateTimeField()

    @staticmethod
    def _licence(obj):
        return getattr(obj, "licence", None) if obj.kind == CameoKind.CHARACTER else None

    @extend_schema_field(LicenceOutputSerializer(allow_null=True))
    def get_licence(self, obj) -> dict | None:
        licence = self._licence(obj)
        return LicenceOutputSerializer(licence).data if licence else None


class CameoVerificationSerializer(serializers.Serializer):
    """What verification measured (cameos/verification.py); a field is there once its step ran."""

    kind = enum_field("CameoKind", CameoKind.choices, required=False)
    frames_decoded = serializers.IntegerField(required=False)
    frames_kept = serializers.IntegerField(required=False)
    duration_s = serializers.FloatField(required=False)
    width = serializers.IntegerField(required=False)
    height = serializers.IntegerField(required=False)
    challenge = serializers.ChoiceField(
        choices=["shown", "other_challenge", "not_found", "not_required"],
        required=False,
        help_text="Whether the clip showed this attempt's code card.",
    )
    challenge_frames = serializers.ListField(
        child=serializers.FloatField(), required=False, help_text="Seconds into the clip where the card was seen."
    )
    frames_scanned_for_faces = serializers.IntegerField(required=False)
    face_frames = serializers.IntegerField(required=False)
    face_fraction = serializers.FloatField(required=False)
    largest_face_side = serializers.FloatField(required=False)
    detector = serializers.CharField(required=False)
    face_at_s = serializers.ListField(
        child=serializers.FloatField(), required=False, help_text="A pet/object/character clip: where a face was seen."
    )
    references = serializers.IntegerField(required=False, help_text="Reference images kept.")
    refused = serializers.CharField(required=False, help_text="The refusal's code, when rejected.")


class OwnCameoOutputSerializer(CameoOutputSerializer):
    """The owner's view: everything, including why verification refused it."""

    aliases = serializers.ListField(child=serializers.CharField())
    rejection_code = serializers.CharField(help_text="Set when status is rejected; see docs/cameos.md.")
    rejection_reason = serializers.CharField()
    verification = CameoVerificationSerializer(help_text="What verification measured.")
    clip_duration_s = serializers.FloatField(allow_null=True)
    clip_width = serializers.IntegerField(allow_null=True)
    clip_height = serializers.IntegerField(allow_null=True)
    embedding_version = serializers.CharField()
    verified_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField()


class ConsentChangeOutputSerializer(serializers.Serializer):
    cameo = OwnCameoOutputSerializer()
    cancelled_jobs = serializers.IntegerField(help_text="Queued jobs of people no longer allowed, cancelled.")
    taken_down = serializers.IntegerField(help_text="Existing videos taken down (only when asked).")


class ChallengeInputSerializer(InputSerializer):
    kind = enum_field("CameoKind", CameoKind.choices)
    name = serializers.RegexField(
        "^@?" + constants.NAME_PATTERN.removeprefix("^"),
        max_length=41,
        trim_whitespace=False,  # the pattern has no room for spaces
        help_text="How prompts refer to it: 3-40 letters, digits, _ . -",
    )
    display_name = serializers.CharField(max_length=60, required=False, default="", allow_blank=True)


class ChallengeOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = enum_field("CameoKind", CameoKind.choices)
    name = serializers.CharField()
    display_name = serializers.CharField()
    code = serializers.CharField(help_text="Six digits to show (on the card) in the clip.")
    qr_payload = serializers.CharField(help_text="The text of the card's QR code, for clients that draw their own.")
    card_url = serializers.CharField(help_text="A PNG of the card to show while recording.")
    expires_at = serializers.DateTimeField()


class CameoUploadInputSerializer(InputSerializer):
    challenge_id = serializers.IntegerField()
    clip = serializers.FileField(help_text="The verification clip, at most 10 s; checked by decoding it.")
    description = serializers.CharField(max_length=300, required=False, default="", allow_blank=True)


class CameoUpdateInputSerializer(InputSerializer):
    display_name = serializers.CharField(max_length=60, required=False)
    description = serializers.CharField(max_length=300, required=False, allow_blank=True)
    aliases = serializers.ListField(
        child=serializers.CharField(max_length=constants.MAX_THEME_LENGTH),
        required=False,
        max_length=constants.MAX_ALIASES,
    )
    audience = enum_field("CameoAudience", CameoAudience.choices, required=False)
    instructions = serializers.CharField(max_length=constants.MAX_INSTRUCTIONS, required=False, allow_blank=True)
    restrictions = serializers.ListField(
        child=enum_field("CameoRestriction", list(constants.RESTRICTION_CODES.items())), required=False
    )
    take_down_existing = serializers.BooleanField(
        required=False, default=False, help_text="Also take down existing videos of people no longer allowed."
    )


class TakeDownInputSerializer(InputSerializer):
    take_down_existing = serializers.BooleanField(required=False, default=False)


class AccessEntryInputSerializer(InputSerializer):
    handle = HandleField()
    effect = enum_field("CameoAccessEffect", CameoAccessEntry.Effect.choices)
    take_down_existing = serializers.BooleanField(required=False, default=False)


class AccessEntryOutputSerializer(serializers.Serializer):
    user = UserRefSerializer()
    effect = enum_field("CameoAccessEffect", CameoAccessEntry.Effect.choices)
    created_at = serializers.DateTimeField()


class AccessEntryChangeOutputSerializer(serializers.Serializer):
    entry = AccessEntryOutputSerializer()
    cancelled_jobs = serializers.IntegerField()
    taken_down = serializers.IntegerField()


class RequestInputSerializer(InputSerializer):
    message = serializers.CharField(max_length=300, required=False, default="", allow_blank=True)


class RequestDecideInputSerializer(InputSerializer):
    decision = enum_field("CameoRequestDecision", [("approve", "Approve"), ("deny", "Deny")])


class CameoRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    display_name = serializers.CharField()
    owner = UserRefSerializer()


class RequestOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    cameo = CameoRefSerializer()
    requester = UserRefSerializer()
    message = serializers.CharField()
    status = enum_field("CameoRequestStatus", CameoRequest.Status.choices)
    created_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)


class AppearanceOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    video_id = serializers.IntegerField()
    job_id = serializers.IntegerField(allow_null=True)
    via_video_id = serializers.IntegerField(
        allow_null=True,
        help_text="The video this one was made from and inherited the cameo from (remix, edit, extension, "
        "recognised upload or reference); null for a direct use.",
    )
    creator = UserRefSerializer()
    status = enum_field("CameoAppearanceStatus", CameoAppearance.Status.choices)
    removed_reason = serializers.CharField()
    removed_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class AppearanceRemoveInputSerializer(InputSerializer):
    reason = serializers.CharField(max_length=300, required=False, default="", allow_blank=True)


class ReferenceOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    role = enum_field("CameoReferenceRole", CameoReference.Role.choices)
    index = serializers.IntegerField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    is_primary = serializers.BooleanField()
    download_url = serializers.CharField()


class ReferencesOutputSerializer(serializers.Serializer):
    clip_url = serializers.CharField(allow_null=True)
    references = ReferenceOutputSerializer(many=True)


class LicenceInputSerializer(InputSerializer):
    allowed_themes = serializers.ListField(
        child=serializers.CharField(max_length=constants.MAX_THEME_LENGTH),
        required=False,
        max_length=constants.MAX_THEMES,
    )
    forbidden_themes = serializers.ListField(
        child=serializers.CharField(max_length=constants.MAX_THEME_LENGTH),
        required=False,
        max_length=constants.MAX_THEMES,
    )
    fee_credits = serializers.IntegerField(required=False, min_value=0, max_value=constants.MAX_LICENCE_FEE)
    rights_holder_share_bps = serializers.IntegerField(required=False, min_value=0, max_value=10_000)


class RightsHolderInputSerializer(InputSerializer):
    handle = serializers.CharField(max_length=31)
    organisation = serializers.CharField(max_length=120)


class RightsHolderOutputSerializer(serializers.Serializer):
    user = UserRefSerializer()
    organisation = serializers.CharField()
    is_active = serializers.BooleanField()
    granted_at = serializers.DateTimeField()


class RoyaltyEntryOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    cameo_id = serializers.IntegerField()
    party = enum_field("RoyaltyParty", RoyaltyParty.choices)
    entry_type = enum_field("RoyaltyEntryType", RoyaltyEntry.EntryType.choices)
    amount = serializers.IntegerField()
    job_id = serializers.IntegerField()
    video_id = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()


class CharacterTotalsSerializer(serializers.Serializer):
    cameo_id = serializers.IntegerField()
    name = serializers.CharField()
    display_name = serializers.CharField()
    earned = serializers.IntegerField()
    reversed = serializers.IntegerField()
    net = serializers.IntegerField()
    generations = serializers.IntegerField()
    refunds = serializers.IntegerField()


class RoyaltyStatementOutputSerializer(serializers.Serializer):
    since = serializers.DateTimeField(allow_null=True)
    until = serializers.DateTimeField(allow_null=True)
    generated_at = serializers.DateTimeField()
    period_net = serializers.IntegerField()
    balance = serializers.IntegerField(help_text="All-time balance, the sum of the ledger lines.")
    characters = CharacterTotalsSerializer(many=True)
    entries = RoyaltyEntryOutputSerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True)
    next = serializers.URLField(allow_null=True)


class StatementQuerySerializer(serializers.Serializer):
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)
