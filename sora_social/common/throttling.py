"""DRF throttles that also tell the client where it stands: the RateLimit header fields.

We send the fields of the IETF draft "RateLimit header fields for HTTP"
(draft-ietf-httpapi-ratelimit-headers-07, the version most clients and gateways implement):
`RateLimit-Limit` (requests in the window), `RateLimit-Remaining`, `RateLimit-Reset` (seconds
until a request is freed) and `RateLimit-Policy` (`<limit>;w=<window s>`). A refused request is
a 429 with `Retry-After`. With several throttles on a route the most restrictive one is sent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rest_framework import throttling


@dataclass(frozen=True)
class RateLimitState:
    limit: int
    remaining: int
    reset_s: int
    window_s: int

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_s),
            "RateLimit-Policy": f"{self.limit};w={self.window_s}",
        }


class RateLimitHeadersMixin:
    """For SimpleRateThrottle subclasses: after deciding, leave the state on the Django request
    (`request.rate_limit`) for ApiResponseHeadersMiddleware."""

    def allow_request(self, request, view) -> bool:
        allowed = super().allow_request(request, view)
        history = getattr(self, "history", None)
        if getattr(self, "rate", None) is None or history is None:
            return allowed  # no rate for this scope: not limited
        if allowed:
            remaining = max(0, self.num_requests - len(history))
            # Sliding window: the oldest request in it leaves the window first.
            reset_s = math.ceil(history[-1] + self.duration - self.now) if history else 0
        else:
            remaining, reset_s = 0, math.ceil(self.wait() or 0)
        state = RateLimitState(
            limit=self.num_requests, remaining=remaining, reset_s=max(0, reset_s), window_s=self.duration
        )
        django_request = getattr(request, "_request", request)
        current = getattr(django_request, "rate_limit", None)
        if current is None or state.remaining < current.remaining:
            django_request.rate_limit = state
        return allowed


class ScopedRateThrottle(RateLimitHeadersMixin, throttling.ScopedRateThrottle):
    pass


class UserRateThrottle(RateLimitHeadersMixin, throttling.UserRateThrottle):
    pass


class AnonRateThrottle(RateLimitHeadersMixin, throttling.AnonRateThrottle):
    pass
