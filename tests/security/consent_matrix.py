"""The consent attack matrix: every path by which a video showing someone's cameo can be made,
against every consent state. `tests/security/test_consent_matrix.py` runs one test per cell;
`docs/cameos.md` shows the same table (a test fails if the copy drifts; regenerate it with
`python -m tests.security.consent_matrix`).

A cell is either refused (with the error code the attacker gets: at submit, or as the job's
error when consent changes while it is queued or running) or allowed, in which case the video is
recorded as an appearance of the cameo (its owner sees it and is told) and is served to nobody
who may not have it.
"""

from __future__ import annotations

ALLOWED = "allowed"

# How the attacker X tries to get a video showing the owner O's cameo. "Derivative" paths start
# from a video that already shows the cameo, made while X was still allowed (a friend, audience
# mutuals); the consent state is applied after that, just before the attempt.
PATHS: dict[str, str] = {
    "rest_named": "`POST /api/v1/generations` naming the cameo",
    "openai_create": "`POST /v1/videos` with `@handle` in the prompt",
    "openai_character": "`POST /v1/videos` with a character's `@name`",
    "remix_post": "`POST /api/v1/generations {remix_of}` of the owner's post featuring it",
    "remix_post_chain": "`remix_of` a friend's post that remixes the owner's post (2 deep)",
    "openai_remix": "`POST /v1/videos/{id}/remix` of X's video showing it",
    "openai_edit": "`POST /v1/videos/edits` of X's video showing it",
    "openai_extend": "`POST /v1/videos/extensions` of X's video showing it",
    "openai_chain": "an edit of X's extension of X's remix of a video showing it (3 deep)",
    "upload": "`POST /api/v1/videos`: a re-upload of the owner's posted video (recognised by its frames)",
    "input_reference": "`POST /v1/videos` with the owner's post's thumbnail as `input_reference`",
    "character_from_copy": "`POST /v1/videos/characters` with the owner's posted video as the clip",
}

# The consent state when X tries. The expected code is the one a direct use gets.
STATES: dict[str, tuple[str, str]] = {
    "only_me": ("audience only me", "cameo_not_found"),
    "approval_required": ("people I approve, X not approved", "cameo_permission_denied"),
    "approved": ("people I approve, X approved", ALLOWED),
    "mutuals": ("mutuals, X a mutual", ALLOWED),
    "not_mutuals": ("mutuals, X only follows O", "cameo_not_found"),
    "everyone": ("everyone", ALLOWED),
    "deny_listed": ("everyone, X on the deny list", "cameo_not_found"),
    "blocked": ("everyone, O blocked X", "cameo_not_found"),
    "minor_owner": ("a minor's cameo, everyone, X not a mutual", "cameo_not_found"),
    "minor_owner_mutual": ("a minor's cameo, mutuals, X a mutual", ALLOWED),
    "revoked_before_submit": ("everyone, then revoked before X submits", "cameo_not_found"),
    "revoked_while_queued": ("everyone, revoked while X's job is queued", "cameo_permission_revoked"),
    "revoked_while_running": ("everyone, revoked while X's job renders", "cameo_permission_revoked"),
    "blocked_while_running": ("everyone, O blocks X while the job renders", "cameo_permission_revoked"),
    "restriction_violated": ("everyone, `no_political`, a political prompt", "cameo_restriction"),
    "restriction_added_while_queued": ("everyone, `no_political` added while queued", "cameo_restriction"),
}

# Where a path answers before consent is even reached: X cannot see (so cannot remix) the
# owner's own post once the owner blocked them.
# An upload has no prompt for an owner's restrictions to judge (they apply to what is generated).
OVERRIDES: dict[tuple[str, str], str] = {
    ("remix_post", "blocked"): "post_not_found",
    ("upload", "restriction_violated"): ALLOWED,
}

# Paths refused whatever the consent state: a cameo made of a copy of someone else's likeness
# would escape their control even where they let the attacker generate with it.
ALWAYS: dict[str, str] = {"character_from_copy": "cameo_in_clip"}

# An upload (or a new cameo's clip) is taken at once: there is no queued or running job for
# consent to change under.
NOT_APPLICABLE = {
    (path, state)
    for path in ("upload", "character_from_copy")
    for state in (
        "revoked_while_queued",
        "revoked_while_running",
        "blocked_while_running",
        "restriction_added_while_queued",
    )
}


def expected(path: str, state: str) -> str:
    return ALWAYS.get(path) or OVERRIDES.get((path, state), STATES[state][1])


def cases() -> list[tuple[str, str, str]]:
    return [
        (path, state, expected(path, state))
        for path in PATHS
        for state in STATES
        if (path, state) not in NOT_APPLICABLE
    ]


def _cell(code: str) -> str:
    return "✅ allowed and recorded" if code == ALLOWED else f"⛔ `{code}`"


def _cell_for(path: str, state: str) -> str:
    return "— (no queue)" if (path, state) in NOT_APPLICABLE else _cell(expected(path, state))


def render_markdown() -> str:
    """States down, paths across would be too wide: one row per state, one column per path."""
    names = list(PATHS)
    lines = [
        "| state | " + " | ".join(f"`{p}`" for p in names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for state, (label, _) in STATES.items():
        lines.append(f"| {state} ({label}) | " + " | ".join(_cell_for(p, state) for p in names) + " |")
    lines.append("")
    lines.append("Paths: " + "; ".join(f"`{p}`: {label}" for p, label in PATHS.items()) + ".")
    return "\n".join(lines) + "\n"


START = "<!-- consent-attack-matrix:start (generated from tests/security/consent_matrix.py) -->"
END = "<!-- consent-attack-matrix:end -->"


if __name__ == "__main__":
    import pathlib

    doc = pathlib.Path(__file__).resolve().parents[2] / "docs" / "cameos.md"
    text = doc.read_text()
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    doc.write_text(f"{head}{START}\n{render_markdown()}{END}{tail}")
    print(f"wrote the matrix into {doc}")
