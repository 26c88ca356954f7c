"""Policy checks: the pure, low layer of moderation that generation and feed call.

Django-facing entry points are in `moderation.policy.services` (prompt_check, media_check,
cameo_restrictions_check, banned_media_add). Everything else here is plain Python that does not
import Django: result (PolicyResult), subjects (CameoSubject), categories (CATEGORIES,
RESTRICTION_CODES), pipeline (check_prompt), rules, classifier, likeness, restrictions, remote,
media (check_media, frame_hashes). See docs/moderation.md.
"""
