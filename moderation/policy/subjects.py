"""`CameoSubject`: what the policy layer needs to know about a cameo featured in a prompt.

The cameos app builds these from its models (see `docs/moderation.md`), so the policy layer does
not import the cameos app: dependencies point users <- cameos <- moderation.policy.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from moderation.policy.categories import CAMEO_KINDS, RESTRICTION_CODES


@dataclass(frozen=True)
class CameoSubject:
    """A cameo the generation request features, already resolved and permission-checked.

    cameo_id:          the cameo's primary key (for reasons and the audit trail).
    kind:              "person", "pet", "object" or "character".
    display_name:      the cameo's name ("Taylor Swift", "Rex the corgi").
    owner_handle:      the owner's @handle, without the "@".
    owner_display_name: the owner's display name.
    handle:            the @name the cameo is mentioned by, when it differs from the owner's
                       handle (a pet or character cameo); "" otherwise.
    aliases:           other names the cameo answers to.
    verified:          only a verified person cameo stands for its owner's consent to likeness.
    owner_is_minor:    a minor's cameo: suggestive or romantic prompts are refused outright.
    restrictions:      the owner's restriction codes (keys of RESTRICTION_CODES).
    allowed_themes:    a character licence's themes ("adventure", "cooking"); empty = any.
    forbidden_themes:  a character licence's forbidden themes (free text or restriction codes).
    """

    cameo_id: int | str
    kind: str = "person"
    display_name: str = ""
    owner_handle: str = ""
    owner_display_name: str = ""
    handle: str = ""
    aliases: tuple[str, ...] = ()
    verified: bool = True
    owner_is_minor: bool = False
    restrictions: frozenset[str] = field(default_factory=frozenset)
    allowed_themes: tuple[str, ...] = ()
    forbidden_themes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in CAMEO_KINDS:
            raise ValueError(f"kind must be one of {CAMEO_KINDS}, not {self.kind!r}")
        unknown = set(self.restrictions) - set(RESTRICTION_CODES)
        if unknown:
            raise ValueError(f"unknown restriction codes: {sorted(unknown)}")
        object.__setattr__(self, "restrictions", frozenset(self.restrictions))
        object.__setattr__(self, "aliases", tuple(self.aliases))
        object.__setattr__(self, "allowed_themes", tuple(self.allowed_themes))
        object.__setattr__(self, "forbidden_themes", tuple(self.forbidden_themes))
        object.__setattr__(self, "owner_handle", self.owner_handle.lstrip("@"))
        object.__setattr__(self, "handle", self.handle.lstrip("@"))

    @property
    def label(self) -> str:
        """How reasons name this cameo."""
        if self.handle:
            return f"@{self.handle}"
        if self.owner_handle:
            return f"@{self.owner_handle}" if self.kind == "person" else f"{self.display_name} (@{self.owner_handle})"
        return self.display_name or f"cameo {self.cameo_id}"

    def mention_handles(self) -> set[str]:
        """The @handles that refer to this cameo in a prompt (lower-cased)."""
        handles = {self.handle.lower()} if self.handle else set()
        if self.kind == "person" and self.owner_handle:
            handles.add(self.owner_handle.lower())
        return handles

    def person_names(self) -> Iterable[str]:
        """Names under which this cameo depicts a real person (empty unless a person cameo)."""
        if self.kind != "person":
            return ()
        return tuple(n for n in (self.display_name, self.owner_display_name, self.owner_handle, *self.aliases) if n)
