"""The prompt pipeline: rules -> classifier -> likeness guard -> cameo restrictions -> remote.

The prompt's language is read once first (language.detect): a prompt in another language gets the
multilingual classifier as well, right after the English one (which still reads any English words
in it and every obfuscated English prompt that language identification takes for another language).

Plain module, no Django (services.py reads the settings and calls this). Layers run in order and
stop at the first block, so the expensive ones (the classifier's embedding, a remote call) are
skipped for prompts the cheap ones already refuse. The combined result keeps every layer that
ran, with its scores, for the audit trail.
"""

from __future__ import annotations

from collections.abc import Sequence

from moderation.policy.classifier import check_classifier
from moderation.policy.language import detect
from moderation.policy.likeness import check_likeness
from moderation.policy.multilingual import check_multilingual
from moderation.policy.remote import RemoteConfig, check_remote
from moderation.policy.restrictions import check_cameo_restrictions
from moderation.policy.result import PolicyResult, combine
from moderation.policy.rules import check_rules
from moderation.policy.subjects import CameoSubject

LAYER = "prompt"
MAX_PROMPT_CHARS = 4000


def check_prompt(
    prompt: str,
    *,
    cameos: Sequence[CameoSubject] = (),
    viewer_is_minor: bool = False,
    remote: RemoteConfig | None = None,
    plain_mentions: Sequence[str] = (),
) -> PolicyResult:
    """Check a generation prompt before anything is rendered.

    cameos: the featured cameos, resolved and permission-checked by the caller.
    plain_mentions: @mentions the caller resolved to no cameo (plain text) or to a featured
        cameo by a multi-word name; the likeness guard does not count them as strangers.
    viewer_is_minor: the person generating is a minor: mature content is refused and what the
        classifier would send to review is refused.
    remote: the remote reasoning model to consult last, or None (the default) to skip it.
    """
    if not prompt or not prompt.strip():
        return PolicyResult("block", LAYER, "empty_prompt", "", ("the prompt is empty",), {})
    if len(prompt) > MAX_PROMPT_CHARS:
        reason = f"the prompt is longer than {MAX_PROMPT_CHARS} characters"
        return PolicyResult("block", LAYER, "prompt_too_long", "", (reason,), {})

    minor_featured = any(c.owner_is_minor for c in cameos)
    strict = viewer_is_minor or minor_featured
    steps = [
        lambda: check_rules(prompt, viewer_is_minor=viewer_is_minor, minor_featured=minor_featured),
        lambda: check_classifier(prompt, strict=strict),
        lambda: check_likeness(prompt, cameos, plain_mentions=plain_mentions),
        lambda: check_cameo_restrictions(prompt, cameos),
    ]
    language = detect(prompt)
    if not language.english:
        steps.insert(2, lambda: check_multilingual(prompt, language=language.code, strict=strict))
    if remote is not None:
        steps.append(lambda: check_remote(prompt, remote))

    results: list[PolicyResult] = []
    for step in steps:
        result = step()
        results.append(result)
        if result.blocked:
            break
    return combine(results, layer=LAYER)
