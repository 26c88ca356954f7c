"""The prompt pipeline: rules -> classifier -> likeness guard -> cameo restrictions -> remote.

Plain module, no Django (services.py reads the settings and calls this). Layers run in order and
stop at the first block, so the expensive ones (the classifier's embedding, a remote call) are
skipped for prompts the cheap ones already refuse. The combined result keeps every layer that
ran, with its scores, for the audit trail.
"""

from __future__ import annotations

from collections.abc import Sequence

from moderation.policy.classifier import check_classifier
from moderation.policy.likeness import check_likeness
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
) -> PolicyResult:
    """Check a generation prompt before anything is rendered.

    cameos: the featured cameos, resolved and permission-checked by the caller.
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
    steps = [
        lambda: check_rules(prompt, viewer_is_minor=viewer_is_minor, minor_featured=minor_featured),
        lambda: check_classifier(prompt, strict=viewer_is_minor or minor_featured),
        lambda: check_likeness(prompt, cameos),
        lambda: check_cameo_restrictions(prompt, cameos),
    ]
    if remote is not None:
        steps.append(lambda: check_remote(prompt, remote))

    results: list[PolicyResult] = []
    for step in steps:
        result = step()
        results.append(result)
        if result.blocked:
            break
    return combine(results, layer=LAYER)
