"""Schemathesis over every operation of the live schema, against a live server and workers.

All four phases (examples, coverage, fuzzing, stateful), a fixed seed and a bounded number of
cases per operation (SCHEMATHESIS_MAX_EXAMPLES, default 5: about 4,300 cases, 4.5 minutes on a
loaded 2-core machine). It fails on any 5xx, an undocumented status or content type, a response (body or
headers) that does not match the schema, a deleted object still answering or a created
one not there, a schema-valid request refused (but with a documented 422: a rule no schema can
state) and a schema-invalid one accepted. Requests are made as real accounts (tests/contract/st_hooks.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from generation import jobs
from generation.models import GenerationJob, JobStatus

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "use_after_free",
        "ensure_resource_availability",
        # Validation agrees with the schema both ways: a valid request is not refused (422 is a
        # documented rule no schema states, schemathesis.toml), an invalid one is.
        "positive_data_acceptance",
        "negative_data_rejection_with_file_parts",  # st_hooks.py: the built-in, less a mislabel
    ]
)
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "5"))
# CI runs seed 1; another seed is another run of cases, to look for what seed 1 does not reach.
SEED = os.environ.get("SCHEMATHESIS_SEED", "1")


def _cancel_fuzz_jobs() -> None:
    """What the run submitted must not keep the shared worker busy for the next tests."""
    for job in GenerationJob.objects.filter(
        user__handle__startswith="st_", status__in=[JobStatus.QUEUED, JobStatus.RUNNING]
    ).select_related("user"):
        jobs.generation_job_cancel(job=job, actor=job.user, reason="contract test over")


def run_schemathesis(base_url: str, report_dir: Path, *extra: str) -> tuple[subprocess.CompletedProcess, dict]:
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.contract.st_hooks", "SORA_CONTRACT_BASE_URL": base_url}
    command = [
        str(BIN / "schemathesis"),
        "run",
        f"{base_url}/api/schema/",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        SEED,
        # One worker: CPython 3.11's AST builder keeps its recursion counter per interpreter, not
        # per thread (cpython#106905), Hypothesis parses source in each worker thread, and with
        # two workers CI saw "SystemError: AST constructor recursion depth mismatch" twice in a row.
        "--workers",
        "1",
        "--no-shrink",
        # Generous: on a loaded 2-core machine a request can wait behind the worker's renders.
        "--request-timeout",
        "180",
        "--output-truncate",
        "false",
        "--report",
        "json",
        "--report-dir",
        str(report_dir),
        *extra,
    ]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    reports = sorted(report_dir.glob("*.json"))
    return result, json.loads(reports[-1].read_text()) if reports else {}


def _fuzzer_crashed_in_cpython(result: subprocess.CompletedProcess, report: dict) -> bool:
    # CPython 3.11's ast module can raise "SystemError: AST constructor recursion depth mismatch"
    # inside Hypothesis (seen in CI with two workers, 0 failures found): the fuzzer crashing, not
    # the API answering wrongly. Such a run is repeated once; any failure it found is never excused.
    return not report.get("failures") and "AST constructor recursion depth mismatch" in result.stdout


def _asgi_log_size(log_dir: Path) -> int:
    log = log_dir / "asgi.log"
    return log.stat().st_size if log.exists() else 0


def _server_tracebacks(log_dir: Path, since: int, limit: int = 8000) -> str:
    """What the live server logged as tracebacks during the run: what a 5xx was."""
    with open(log_dir / "asgi.log", "rb") as log:
        log.seek(since)
        text = log.read().decode(errors="replace")
    first = text.find("Traceback (most recent call last)")
    return text[first:][-limit:] if first >= 0 else "(none)"


def _failure_report(result: subprocess.CompletedProcess, report: dict, log_dir: Path, log_from: int) -> str:
    # A CI log keeps only the end of a long message: the summary goes first, then the failing
    # cases (operation, check, reproduction) and the server's tracebacks, which are what a reader needs.
    stdout = result.stdout
    failures_at = stdout.find("FAILURES")
    summary_at = stdout.find("SUMMARY")
    failing = stdout[failures_at:summary_at] if 0 <= failures_at < summary_at else ""
    # Uploaded bytes echoed in a reproduction would crowd out the rest: long lines are cut.
    failing = "\n".join(line if len(line) <= 400 else line[:400] + " [...]" for line in failing.splitlines())
    return "\n".join(
        [
            stdout[summary_at:][-4000:] if summary_at >= 0 else stdout[-4000:],
            result.stderr[-2000:],
            json.dumps({"failures": report.get("failures"), "errors": report.get("errors")}, default=str)[:6000],
            "==== failing cases ====",
            failing[-20000:],
            "==== server tracebacks (asgi.log) ====",
            _server_tracebacks(log_dir, log_from),
        ]
    )


def test_schemathesis_over_every_operation_finds_nothing(live_stack, tmp_path):
    log_from = _asgi_log_size(live_stack.log_dir)
    for attempt in range(2):
        report_dir = tmp_path / f"run{attempt}"
        report_dir.mkdir()
        try:
            result, report = run_schemathesis(live_stack.base_url, report_dir, "--checks", CHECKS)
        finally:
            _cancel_fuzz_jobs()
        if result.returncode == 0 or not _fuzzer_crashed_in_cpython(result, report):
            break
    cases = report.get("test_cases", {})
    operations = report.get("operations", {})
    print(
        f"schemathesis: {operations.get('tested')} operations, {cases.get('generated')} cases, "
        f"{cases.get('unique_failures')} failures, {report.get('running_time', 0):.0f} s"
    )
    assert result.returncode == 0, _failure_report(result, report, live_stack.log_dir, log_from)
    assert operations["tested"] == operations["total"] > 100
    assert not report["failures"] and not report["errors"]
    assert cases["generated"] >= 1000
