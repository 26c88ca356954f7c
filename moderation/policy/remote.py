"""Layer 4 of the prompt pipeline (off by default): a remote reasoning model's verdict.

Plain module, no Django: the caller passes a `RemoteConfig` (services.py builds it from the
MODERATION_REMOTE_* settings). The model is called through an OpenAI-compatible
`POST {url}/chat/completions` and asked for a JSON verdict. Anything that goes wrong (timeout,
connection refused, HTTP error, an answer that is not the JSON asked for) fails open to
*review*: the prompt is neither waved through nor refused because a service was down.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass
from typing import Any

import httpx

from moderation.policy.categories import CATEGORIES
from moderation.policy.result import PolicyResult

LAYER = "remote"

SYSTEM_PROMPT = (
    "You are the content-policy reviewer of a social app that turns text prompts into short AI videos. "
    "Decide whether the prompt below may be generated. Refuse ('block') prompts that ask for: "
    + "; ".join(f"{code} ({label.lower()})" for code, label in CATEGORIES.items())
    + "; or likeness (a real, identifiable person who is not a consenting cameo). "
    "Use 'review' when a person should look first, 'allow' otherwise. Fiction, sports, cooking, history and "
    "stylised action are normally fine. Answer with one JSON object and nothing else: "
    '{"decision": "allow" | "review" | "block", "category": "<one of the codes above, or none>", '
    '"reason": "<one short sentence>", "confidence": <number from 0 to 1>}'
)


@dataclass(frozen=True)
class RemoteConfig:
    url: str
    model: str
    api_key: str = ""
    timeout_s: float = 10.0


_JSON_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


def parse_verdict(content: str) -> dict[str, Any]:
    """The verdict object from the model's answer (tolerates code fences and chatter around it)."""
    match = _JSON_OBJECT.search(content or "")
    if not match:
        raise ValueError("no JSON object in the answer")
    verdict = json.loads(match.group(0))
    if not isinstance(verdict, dict) or verdict.get("decision") not in {"allow", "review", "block"}:
        raise ValueError("the answer has no valid decision")
    return verdict


def _fail_open(reason: str) -> PolicyResult:
    return PolicyResult("review", LAYER, "remote_unavailable", "", (f"remote check unavailable: {reason}",), {})


def check_remote(prompt: str, config: RemoteConfig, *, client: httpx.Client | None = None) -> PolicyResult:
    """Ask the remote model; its decision, or review when it cannot give one."""
    headers = {"Content-Type": "application/json"}
    if config.api_key:
        headers["Authorization"] = f"Bearer {config.api_key}"
    body = {
        "model": config.model,
        "temperature": 0,
        "messages": [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": f"Prompt to review:\n<<<\n{prompt}\n>>>"},
        ],
        "response_format": {"type": "json_object"},
    }
    url = config.url.rstrip("/") + "/chat/completions"
    try:
        if client is None:
            with httpx.Client(timeout=config.timeout_s) as own_client:
                response = own_client.post(url, json=body, headers=headers)
        else:
            response = client.post(url, json=body, headers=headers, timeout=config.timeout_s)
        response.raise_for_status()
        content = response.json()["choices"][0]["message"]["content"]
        verdict = parse_verdict(content)
    except httpx.TimeoutException:
        return _fail_open(f"timed out after {config.timeout_s:g}s")
    except httpx.HTTPStatusError as exc:
        return _fail_open(f"HTTP {exc.response.status_code}")
    except httpx.HTTPError as exc:
        return _fail_open(type(exc).__name__)
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        return _fail_open(f"unusable answer ({exc})")

    decision = verdict["decision"]
    category = str(verdict.get("category") or "")
    category = category if category in CATEGORIES or category == "likeness" else ""
    scores: dict[str, float] = {}
    with contextlib.suppress(TypeError, ValueError):
        scores["confidence"] = float(verdict.get("confidence", 0.0))
    if decision == "allow":
        return PolicyResult.allow(LAYER, scores=scores)
    reason = str(verdict.get("reason") or "remote model flagged the prompt")[:300]
    return PolicyResult(decision, LAYER, "remote_model", category, (reason,), scores)
