"""The cameos app's vocabulary and knobs (settings read with defaults, so none is required)."""

from __future__ import annotations

from django.conf import settings

# What an owner may forbid for videos featuring their cameo; moderation.policy enforces them
# (moderation.policy.categories re-exports this table).
RESTRICTION_CODES: dict[str, str] = {
    "no_political": "No political content",
    "no_romantic": "No romantic or flirtatious content",
    "no_sexual": "No sexual or suggestive content",
    "no_violence": "No violence, fighting or weapons",
    "no_religious": "No religious content",
    "no_alcohol_drugs": "No alcohol, smoking or drugs",
    "no_mockery": "No mockery or humiliation",
    "no_horror": "No horror or gore",
    "no_advertising": "No ads or product endorsements",
}

NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{1,38}[A-Za-z0-9_]$"
MAX_ALIASES = 10
MAX_THEMES = 20
MAX_THEME_LENGTH = 40
MAX_LICENCE_FEE = 100_000  # credits per generation
MAX_INSTRUCTIONS = 500

# Verification refusals, each a code the client shows with a message the user can act on.
VERIFICATION_CODES: dict[str, str] = {
    "not_a_video": "The file is not a video we can decode.",
    "clip_too_long": "The clip is longer than the limit (10 s by default).",
    "clip_too_large": "The upload is bigger than the size limit.",
    "resolution_too_low": "The clip's shorter side is below the minimum resolution.",
    "resolution_too_high": "The clip's longer side is above the maximum (3840 px by default).",
    "no_face": "Too few frames show a face (person cameos).",
    "person_in_clip": "A pet, object or character clip shows a person's face (in any scanned frame).",
    "challenge_expired": "The challenge code expired before the upload.",
    "challenge_reused": "The challenge was already used, or the clip shows an earlier challenge's code.",
    "challenge_not_shown": "The clip does not show the challenge card.",
}


def challenge_ttl_seconds() -> int:
    return int(getattr(settings, "CAMEO_CHALLENGE_TTL_SECONDS", 300))


def max_clip_seconds() -> float:
    return float(getattr(settings, "CAMEO_MAX_CLIP_SECONDS", 10.0))


def max_clip_bytes() -> int:
    return int(getattr(settings, "CAMEO_MAX_CLIP_BYTES", getattr(settings, "MAX_VIDEO_UPLOAD_BYTES", 50 * 1024 * 1024)))


def min_short_side() -> int:
    return int(getattr(settings, "CAMEO_MIN_SHORT_SIDE", 360))


def max_side() -> int:
    return int(getattr(settings, "CAMEO_MAX_SIDE", 3840))


def min_face_fraction() -> float:
    """Share of the scanned frames (card frames excluded) that must show a face."""
    return float(getattr(settings, "CAMEO_MIN_FACE_FRACTION", 0.6))


def non_person_face_min_side() -> float:
    """A face whose box's longer side is at least this share of the frame's shorter side is a
    person's likeness: a pet, object or character clip showing one in any scanned frame is refused."""
    return float(getattr(settings, "CAMEO_NON_PERSON_FACE_MIN_SIDE", 0.06))


def non_person_scan_fps() -> float:
    """Frames per second kept and scanned for faces in a pet, object or character clip."""
    return float(getattr(settings, "CAMEO_NON_PERSON_SCAN_FPS", 8.0))


def request_cooldown_seconds() -> int:
    """After a denial, how long before the same person may ask again."""
    return int(getattr(settings, "CAMEO_REQUEST_COOLDOWN_SECONDS", 24 * 3600))


def challenges_per_hour() -> int:
    return int(getattr(settings, "CAMEO_CHALLENGES_PER_HOUR", 20))
