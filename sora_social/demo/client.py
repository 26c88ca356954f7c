"""A small HTTP client for the demo: every call goes through the real API and is narrated."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx


class DemoFailure(AssertionError):
    """The API answered something the scenario did not expect."""


@dataclass
class Person:
    handle: str
    token: str
    user_id: int
    extra: dict[str, Any] = field(default_factory=dict)


class Demo:
    def __init__(self, base_url: str, ws_url: str, say: Callable[[str], None] = print) -> None:
        self.base_url = base_url.rstrip("/")
        self.ws_url = ws_url.rstrip("/")
        self.say = say
        self.http = httpx.Client(base_url=self.base_url, timeout=60)
        self.people: dict[str, Person] = {}
        self.facts: dict[str, Any] = {}  # what sections learn and later sections use
        self.started = time.monotonic()
        self.calls = 0

    def section(self, title: str) -> None:
        self.say("")
        self.say(f"== {title} ==")

    def step(self, text: str) -> None:
        self.say(f"  - {text}")

    def call(
        self,
        method: str,
        path: str,
        *,
        who: str | None = None,
        json_body: Any = None,
        data: dict | None = None,
        files: dict | None = None,
        params: dict | None = None,
        headers: dict | None = None,
        expect: int | tuple[int, ...] = (200, 201, 204),
    ) -> Any:
        headers = dict(headers or {})
        if who is not None:
            headers["Authorization"] = f"Bearer {self.people[who].token}"
        response = self.http.request(
            method, path, json=json_body, data=data, files=files, params=params, headers=headers
        )
        self.calls += 1
        expected = (expect,) if isinstance(expect, int) else expect
        if response.status_code not in expected:
            raise DemoFailure(
                f"{method} {path} as {who or 'anonymous'} answered {response.status_code}, "
                f"expected {expected}: {response.text[:500]}"
            )
        if response.status_code == 204 or not response.content:
            return None
        if response.headers.get("content-type", "").startswith("application/json"):
            return response.json()
        return response.content

    def sign_up(self, handle: str, *, display_name: str, date_of_birth: str = "1998-04-12") -> Person:
        body = self.call(
            "POST",
            "/api/v1/auth/signup",
            json_body={
                "handle": handle,
                "password": f"demo-pass-{handle}-2026",
                "date_of_birth": date_of_birth,
                "display_name": display_name,
            },
            expect=201,
        )
        person = Person(handle=handle, token=body["token"], user_id=body["user"]["id"])
        self.people[handle] = person
        return person

    def log_in(self, handle: str, password: str) -> Person:
        body = self.call(
            "POST", "/api/v1/auth/login", json_body={"handle": handle, "password": password, "device_name": "demo"}
        )
        person = Person(handle=handle, token=body["token"], user_id=body["user"]["id"])
        self.people[handle] = person
        return person

    def wait_for(self, what: str, check: Callable[[], Any], timeout: float = 120.0, every: float = 0.5) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = check()
            if result:
                return result
            time.sleep(every)
        raise DemoFailure(f"timed out after {timeout:.0f}s waiting for {what}")


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, default=str)
