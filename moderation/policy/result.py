"""The one result shape every policy check returns, and how layers combine.

Plain module, no Django. Generation stores `as_dict()` on the job and the moderation console
shows it, so everything in it is JSON-serialisable.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Decision = Literal["allow", "review", "block"]
DECISIONS: tuple[Decision, ...] = ("allow", "review", "block")


@dataclass(frozen=True)
class PolicyResult:
    """What one layer (or a whole pipeline) decided, and why.

    decision: allow / review (a person must look before it goes further) / block.
    layer:    which layer decided ("rules", "classifier", "likeness", "cameo_restrictions",
              "remote", "nudity", "banned_media", or "prompt"/"media" for a combined result).
    code:     a machine-readable reason, e.g. "blocklist", "likeness_without_cameo"; "ok" for allow.
    category: the policy category involved ("sexual", "violence", "likeness", ...), "" if none.
    reasons:  human-readable reasons, for the console and the audit trail.
    scores:   numbers the layer computed (probabilities, similarities, distances).
    layers:   for a combined result, every layer's own result in the order they ran.
    """

    decision: Decision
    layer: str
    code: str = "ok"
    category: str = ""
    reasons: tuple[str, ...] = ()
    scores: Mapping[str, float] = field(default_factory=dict)
    layers: tuple[PolicyResult, ...] = ()

    def __post_init__(self) -> None:
        if self.decision not in DECISIONS:
            raise ValueError(f"decision must be one of {DECISIONS}, not {self.decision!r}")
        # Accept lists from callers but store immutable tuples so results can be shared.
        object.__setattr__(self, "reasons", tuple(self.reasons))
        object.__setattr__(self, "layers", tuple(self.layers))
        object.__setattr__(self, "scores", {k: float(v) for k, v in self.scores.items()})

    @property
    def allowed(self) -> bool:
        return self.decision == "allow"

    @property
    def blocked(self) -> bool:
        return self.decision == "block"

    @property
    def needs_review(self) -> bool:
        return self.decision == "review"

    @classmethod
    def allow(
        cls, layer: str, *, scores: Mapping[str, float] | None = None, reasons: Iterable[str] = ()
    ) -> PolicyResult:
        return cls("allow", layer, "ok", "", tuple(reasons), dict(scores or {}))

    def as_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "layer": self.layer,
            "code": self.code,
            "category": self.category,
            "reasons": list(self.reasons),
            "scores": {k: round(v, 6) for k, v in self.scores.items()},
            "layers": [layer.as_dict() for layer in self.layers],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PolicyResult:
        return cls(
            decision=data["decision"],
            layer=data["layer"],
            code=data.get("code", "ok"),
            category=data.get("category", ""),
            reasons=tuple(data.get("reasons", ())),
            scores=dict(data.get("scores", {})),
            layers=tuple(cls.from_dict(item) for item in data.get("layers", ())),
        )


def combine(results: Sequence[PolicyResult], *, layer: str) -> PolicyResult:
    """One result from several layers' results, in the order they ran.

    The first block wins (its code, category and reasons); otherwise review if any layer said
    review (the reasons of every reviewing layer); otherwise allow. Scores of every layer are kept,
    prefixed with the layer's name, and the layers themselves are kept for the audit trail.
    """
    scores: dict[str, float] = {}
    flat: list[PolicyResult] = []
    for result in results:
        # A nested combined result contributes its own layers, so the audit trail stays flat.
        for part in result.layers or (result,):
            flat.append(part)
            for name, value in part.scores.items():
                scores[f"{part.layer}.{name}"] = value

    blocking = next((r for r in flat if r.blocked), None)
    if blocking is not None:
        return PolicyResult("block", blocking.layer, blocking.code, blocking.category, blocking.reasons, scores, flat)
    reviewing = [r for r in flat if r.needs_review]
    if reviewing:
        first = reviewing[0]
        reasons = tuple(reason for r in reviewing for reason in r.reasons)
        return PolicyResult("review", first.layer, first.code, first.category, reasons, scores, flat)
    return PolicyResult("allow", layer, "ok", "", (), scores, flat)
