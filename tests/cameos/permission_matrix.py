"""The cameo permission matrix: what `can_use_cameo` answers for every audience x relationship.

One table, two uses: test_permissions.py checks the code against it, and docs/cameos.md shows
it (a test checks the doc holds exactly `render_markdown()`). To refresh the doc after a
deliberate change: `.venv/bin/python -m tests.cameos.permission_matrix`.
"""

from __future__ import annotations

AUDIENCES = ("only_me", "approved", "mutuals", "everyone")
AUDIENCE_LABELS = {
    "only_me": "only me",
    "approved": "people I approve",
    "mutuals": "mutuals",
    "everyone": "everyone",
}

# relationship -> how the user stands to the cameo's owner.
RELATIONSHIPS: dict[str, str] = {
    "self": "the owner",
    "friend": "mutual follows",
    "follower": "follows the owner, not followed back",
    "followee": "followed by the owner, not following back",
    "stranger": "no follow either way",
    "blocked": "the owner blocked them",
    "blocked_by": "they blocked the owner",
    "deny_list": "a friend on the deny list",
    "allow_list": "a stranger on the allow list",
    "allow_list_friend": "a friend on the allow list",
    "pending_request": "a stranger with a pending request",
    "approved_request": "a stranger whose request was approved",
}

ALLOWING_CODES = frozenset({"owner", "allow_list", "mutuals", "everyone"})


def _row(*codes: str) -> dict[str, str]:
    if len(codes) == 1:
        codes = codes * len(AUDIENCES)
    return dict(zip(AUDIENCES, codes, strict=True))


OPEN_ROW = _row("audience_only_me", "approval_required", "not_mutuals", "everyone")

EXPECTED: dict[str, dict[str, dict[str, str]]] = {
    "adult": {
        "self": _row("owner"),
        "friend": _row("audience_only_me", "approval_required", "mutuals", "everyone"),
        "follower": OPEN_ROW,
        "followee": OPEN_ROW,
        "stranger": OPEN_ROW,
        "blocked": _row("blocked"),
        "blocked_by": _row("blocked"),
        "deny_list": _row("deny_list"),
        "allow_list": _row("allow_list"),
        "allow_list_friend": _row("allow_list"),
        "pending_request": _row("audience_only_me", "request_pending", "not_mutuals", "everyone"),
        "approved_request": _row("allow_list"),
    },
    "minor": {
        "self": _row("owner"),
        "friend": _row("audience_only_me", "approval_required", "mutuals", "everyone"),
        "follower": _row("minor_mutuals_only"),
        "followee": _row("minor_mutuals_only"),
        "stranger": _row("minor_mutuals_only"),
        "blocked": _row("blocked"),
        "blocked_by": _row("blocked"),
        "deny_list": _row("deny_list"),
        "allow_list": _row("minor_mutuals_only"),
        "allow_list_friend": _row("allow_list"),
        "pending_request": _row("minor_mutuals_only"),
        "approved_request": _row("minor_mutuals_only"),
    },
}

OWNERS = {"adult": "Owner an adult", "minor": "Owner a minor"}


def cases() -> list[tuple[str, str, str, str]]:
    """(owner age, relationship, audience, expected code) for every cell."""
    return [
        (owner, rel, audience, EXPECTED[owner][rel][audience])
        for owner in EXPECTED
        for rel in RELATIONSHIPS
        for audience in AUDIENCES
    ]


def _cell(code: str) -> str:
    return f"{'✅ allow' if code in ALLOWING_CODES else '⛔ deny'} `{code}`"


def render_markdown() -> str:
    lines: list[str] = []
    for owner, title in OWNERS.items():
        lines.append(f"**{title}** (audience across, the user's relationship to the owner down)")
        lines.append("")
        lines.append("| relationship | " + " | ".join(AUDIENCE_LABELS[a] for a in AUDIENCES) + " |")
        lines.append("|---|" + "---|" * len(AUDIENCES))
        for rel, label in RELATIONSHIPS.items():
            cells = " | ".join(_cell(EXPECTED[owner][rel][a]) for a in AUDIENCES)
            lines.append(f"| {rel} ({label}) | {cells} |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


START = "<!-- permission-matrix:start (generated from tests/cameos/permission_matrix.py) -->"
END = "<!-- permission-matrix:end -->"


if __name__ == "__main__":
    import pathlib

    doc = pathlib.Path(__file__).resolve().parents[2] / "docs" / "cameos.md"
    text = doc.read_text()
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    doc.write_text(f"{head}{START}\n{render_markdown()}{END}{tail}")
    print(f"wrote the matrix into {doc}")
