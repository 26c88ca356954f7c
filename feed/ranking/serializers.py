"""Inputs and output shapes of the feed endpoints. Posts are serialised by feed's own
builders (`feed.serializers.post_data`), so a post reads the same in every list."""

from __future__ import annotations

from rest_framework import serializers

from feed.serializers import PostOutputSerializer
from sora_social.common.serializers import InputSerializer


class SteeringInputSerializer(InputSerializer):
    text = serializers.CharField(
        max_length=300,
        trim_whitespace=False,  # the service collapses spaces; blank text is its steering_empty
        help_text='What you want more or less of, in words: "more anime, less sports".',
    )


class SteeringTermOutputSerializer(serializers.Serializer):
    phrase = serializers.CharField()
    direction = serializers.ChoiceField(choices=["more", "less"])
    topic = serializers.CharField(allow_null=True, help_text="The nearest known topic, once embedded.")


class SteeringOutputSerializer(serializers.Serializer):
    text = serializers.CharField(allow_blank=True)
    terms = SteeringTermOutputSerializer(many=True)
    applied = serializers.BooleanField(help_text="False until the terms are embedded (seconds after saving).")
    updated_at = serializers.DateTimeField(allow_null=True)


class PreferenceInputSerializer(InputSerializer):
    personalized = serializers.BooleanField(
        help_text="False: for-you ranks only by what is rising and new, nothing learnt about you."
    )


class DailyLimitOutputSerializer(serializers.Serializer):
    limit = serializers.IntegerField(help_text="For-you posts per local day (minors).")
    used = serializers.IntegerField()
    remaining = serializers.IntegerField()
    resets_at = serializers.DateTimeField(help_text="Your next local midnight.")


class PreferenceOutputSerializer(serializers.Serializer):
    personalized = serializers.BooleanField()
    is_minor = serializers.BooleanField()
    daily_limit = DailyLimitOutputSerializer(allow_null=True)


class PredictedOutputSerializer(serializers.Serializer):
    remix = serializers.FloatField(help_text="p(you remix it)")
    create = serializers.FloatField(help_text="p(you post something after seeing it)")
    like = serializers.FloatField()
    hide = serializers.FloatField(help_text="p(you hide or report it)")
    watch_s = serializers.FloatField(help_text="Expected seconds watched")


class ValueTermsOutputSerializer(serializers.Serializer):
    create = serializers.FloatField()
    remix = serializers.FloatField()
    friend = serializers.FloatField()
    new_creator = serializers.FloatField()
    hide = serializers.FloatField()


class RerankExplainOutputSerializer(serializers.Serializer):
    rank_by_score = serializers.IntegerField(help_text="Place by score alone, before re-ranking.")
    position = serializers.IntegerField(help_text="Place in the session's list.")
    author_factor = serializers.FloatField(help_text="Author-diversity multiplier when placed.")
    mmr_penalty = serializers.FloatField(help_text="Topic-diversity penalty when placed.")
    friends_quota = serializers.BooleanField(help_text="Placed by the friends quota.")


class ExplorationOutputSerializer(serializers.Serializer):
    explored = serializers.BooleanField(help_text="The slot was drawn at random (exploration).")
    propensity = serializers.FloatField(help_text="Probability of this post in this slot.")


class ExplainOutputSerializer(serializers.Serializer):
    source = serializers.CharField(help_text="The candidate source that proposed it.")
    sources = serializers.ListField(child=serializers.CharField())
    score = serializers.FloatField()
    predicted = PredictedOutputSerializer()
    value = ValueTermsOutputSerializer(
        help_text="Each term of the value: fitted weight × predicted term (create, remix, friend·like, "
        "new creator·like, −hide); docs/ranking.md"
    )
    shares = ValueTermsOutputSerializer(help_text="Each term's signed share of the value, Σ|share| = 1")
    fatigue = serializers.FloatField(help_text="< 1 when you hid this author lately")
    steer = serializers.FloatField(help_text="Your steering's pull on it, −1 … 1")
    rerank = RerankExplainOutputSerializer()
    exploration = ExplorationOutputSerializer()


class NudgeOutputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["make_your_own"])
    topic = serializers.CharField()
    watched = serializers.IntegerField(help_text="Posts of this topic you watched since you last made one.")
    message = serializers.CharField()
    post_id = serializers.IntegerField(help_text="The post to remix (POST /posts/{id}/remixes).")
    post_author = serializers.CharField()
    remix_prompt = serializers.CharField(help_text="A ready prompt for the remix; edit it or send it as is.")


class ForYouItemOutputSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["post", "nudge"])
    post = PostOutputSerializer(allow_null=True)
    source = serializers.CharField(help_text="Why it is here: friends, following, cameos, chains, trending, …")
    explain = ExplainOutputSerializer(allow_null=True, help_text="With ?explain=1.")
    propensity = serializers.FloatField(
        allow_null=True,
        help_text="Posts: the probability it was shown in this slot; send it back on the impression event.",
    )
    nudge = NudgeOutputSerializer(allow_null=True)


class ForYouPageOutputSerializer(serializers.Serializer):
    results = ForYouItemOutputSerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True)
    next = serializers.URLField(allow_null=True)
    limit_reached = serializers.BooleanField(help_text="A minor's daily for-you limit is used up.")
    daily_limit = DailyLimitOutputSerializer(allow_null=True, help_text="Minors only.")
    personalized = serializers.BooleanField()
