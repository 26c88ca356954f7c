"""The project's errors take `(code, message)`, in that order, everywhere: a call that passes the
message first would send clients a sentence as the machine-readable code."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from sora_social.common.errors import ApplicationError, Conflict, Forbidden, NotFound

ROOT = Path(__file__).resolve().parent.parent
APPS = ["sora_social", "cameos", "feed", "generation", "moderation", "tools", "benchmarks"]
ERRORS = {"ApplicationError", "NotFound", "Forbidden", "Conflict"}
CODE = re.compile(r"[a-z][a-z0-9_]*")


def _calls():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in ERRORS:
                    yield path.relative_to(ROOT), node


def test_every_error_is_raised_with_its_code_first():
    calls = list(_calls())
    assert len(calls) > 100  # the scan sees the apps' raises
    wrong = []
    for path, node in calls:
        if any(k.arg in {"code", "message"} for k in node.keywords):
            wrong.append(f"{path}:{node.lineno} passes code or message by keyword")
            continue
        first = node.args[0] if node.args else None
        if isinstance(first, ast.Constant) and not (isinstance(first.value, str) and CODE.fullmatch(first.value)):
            wrong.append(f"{path}:{node.lineno} first argument {first.value!r} is not a code")
        if isinstance(first, ast.JoinedStr) and any(
            isinstance(v, ast.Constant) and " " in v.value for v in first.values
        ):
            wrong.append(f"{path}:{node.lineno} first argument is a sentence, not a code")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(("error", "status"), [(NotFound, 404), (Forbidden, 403), (Conflict, 409)])
def test_the_constructors_agree(error, status):
    exc = error("some_code", "Some message.")
    assert (exc.code, exc.message, exc.status_code) == ("some_code", "Some message.", status)
    assert isinstance(exc, ApplicationError)
