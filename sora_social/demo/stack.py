"""Start the real thing as subprocesses: the ASGI server and Celery workers (and beat).

Used by `manage.py demo` and by the end-to-end tests, so both exercise the same processes a
deployment runs.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveStack:
    """An ASGI server on a free port plus a `gpu` worker, a `default` worker and (optionally) beat."""

    def __init__(self, env: Mapping[str, str], *, log_dir: Path, beat: bool = False, port: int | None = None):
        # Servers and workers load their models before they say ready (SORA_WARMUP), as deployed.
        self.env = {**os.environ, **env, "PYTHONUNBUFFERED": "1", "SORA_WARMUP": env.get("SORA_WARMUP", "1")}
        self.log_dir = log_dir
        self.beat = beat
        self.port = port or free_port()
        self.processes: dict[str, subprocess.Popen] = {}

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def _spawn(self, name: str, args: list[str], env: Mapping[str, str] | None = None) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        # Appended to, so a process started again (after a kill) keeps the first one's log.
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115  (closed with the process)
        self.processes[name] = subprocess.Popen(
            args, cwd=ROOT, env=env or self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def start_worker(self, name: str, queues: str) -> None:
        self._spawn(
            name,
            [
                str(BIN / "celery"),
                "-A",
                "sora_social",
                "worker",
                "-Q",
                queues,
                "-c",
                "1",
                "-n",
                f"{name}-{self.port}@%h",
                "--without-gossip",
                "--without-mingle",
                "--loglevel=INFO",
            ],
        )

    def start(self, timeout: float = 90.0) -> LiveStack:
        # As `make serve` runs it: daphne with request-size guards (sora_social/serve.py), and a
        # connection pool, because under ASGI each request runs in a thread of its own and
        # persistent per-thread connections exhaust max_connections.
        self._spawn(
            "asgi",
            [
                sys.executable,
                "-m",
                "sora_social.serve",
                "-b",
                "127.0.0.1",
                "-p",
                str(self.port),
                "sora_social.asgi:application",
            ],
            env={**self.env, "DB_POOL": self.env.get("DB_POOL", "1")},
        )
        self.start_worker("worker-gpu", "gpu")
        self.start_worker("worker-default", "default")
        if self.beat:
            schedule = self.log_dir / "celerybeat-schedule"
            self._spawn(
                "beat",
                [str(BIN / "celery"), "-A", "sora_social", "beat", "-s", str(schedule), "--loglevel=INFO"],
            )
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode}; see {self.log_dir / name}.log")
            try:
                if httpx.get(f"{self.base_url}/readyz", timeout=5).status_code == 200 and self.workers_ready():
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"the stack did not come up in {timeout:.0f}s; logs in {self.log_dir}")

    def workers_ready(self) -> bool:
        """Each worker has logged Celery's "ready." line (it connected to the broker)."""
        for name in self.processes:
            if name.startswith("worker-"):
                log = self.log_dir / f"{name}.log"
                if not log.exists() or b" ready." not in log.read_bytes():
                    return False
        return True

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Kill one process group (e.g. a worker mid-job, for fault tests)."""
        process = self.processes[name]
        os.killpg(process.pid, sig)
        process.wait(timeout=30)

    def restart_worker(self, name: str, queues: str, timeout: float = 90.0) -> None:
        """Start a worker again (after `kill`) and wait until it is ready."""
        self.start_worker(name, queues)
        deadline = time.monotonic() + timeout
        while not self.workers_ready():
            if self.processes[name].poll() is not None:
                raise RuntimeError(f"{name} exited with {self.processes[name].returncode}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} did not come back in {timeout:.0f}s")
            time.sleep(0.3)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.processes.clear()

    def __enter__(self) -> LiveStack:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
