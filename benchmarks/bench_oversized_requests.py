"""Oversized requests against plain daphne and against `python -m sora_social.serve`.

`python -m benchmarks.bench_oversized_requests` starts each server in turn on the development
database (settings as `make serve`, warm-up off: only request handling is measured) and sends,
over raw sockets, as a client that writes its whole request before reading the answer would:
a 300 MB multipart upload to `POST /api/v1/videos`, 300 MB of JSON to `POST /api/v1/posts`
(both with Content-Length), and a GET with a 60 KB URL. Per server and request: the seconds
until the answer, its status (0: the connection was dropped without one) and how much the
server process's resident memory grew, each request on a fresh server process. Writes
benchmarks/results/oversized_requests.json.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import write_result

ROOT = Path(__file__).resolve().parents[1]
MB = 1024 * 1024
BODY_MB = 300
URL_KB = 60
SERVERS = {
    "plain": [str(Path(sys.executable).parent / "daphne")],
    "guarded": [sys.executable, "-m", "sora_social.serve"],
}


def _rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def _exchange(port: int, head: bytes, chunks=()) -> tuple[float, int]:
    """Seconds until the server closed, and the answer's status (0 if it sent none)."""
    with socket.create_connection(("127.0.0.1", port), timeout=600) as sock:
        started = time.monotonic()
        try:
            sock.sendall(head)
            for chunk in chunks:
                sock.sendall(chunk)
        except OSError:
            pass  # the server may close while we send; what it answered is read below
        received = b""
        try:
            while data := sock.recv(65536):
                received += data
        except OSError:
            pass
        seconds = time.monotonic() - started
    status = int(received.split(b" ", 2)[1]) if received.startswith(b"HTTP/") else 0
    return seconds, status


def _healthy(port: int) -> bool:
    try:
        return _exchange(port, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")[1] == 200
    except OSError:
        return False


def _requests() -> dict[str, tuple[bytes, object]]:
    part = b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\nContent-Type: video/mp4\r\n\r\n'
    tail = b"\r\n--x--\r\n"
    upload_head = (
        b"POST /api/v1/videos HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ss_benchmark\r\n"
        b"Content-Type: multipart/form-data; boundary=x\r\nContent-Length: %d\r\n\r\n" % (BODY_MB * MB)
    )
    json_head = (
        b"POST /api/v1/posts HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % (BODY_MB * MB)
    )
    return {
        "upload": (
            upload_head,
            lambda: [part, *([b"\0" * MB] * (BODY_MB - 1)), b"\0" * (MB - len(part) - len(tail)), tail],
        ),
        "json": (
            json_head,
            lambda: [b'{"a": "' + b"x" * (MB - 7), *([b"x" * MB] * (BODY_MB - 2)), b"x" * (MB - 2) + b'"}'],
        ),
        "url": (b"GET /api/v1/me?q=" + b"a" * (URL_KB * 1024) + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", lambda: []),
    }


def _measure(name: str, command: list[str], request: str) -> dict[str, float]:
    """One request against a fresh server process (a process keeps memory it grew to, so a
    second request's growth would hide behind the first's)."""
    from sora_social.demo.stack import free_port

    port = free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "sora_social.settings", "SORA_WARMUP": "0", "DB_POOL": "1"}
    (ROOT / "var").mkdir(exist_ok=True)
    log = open(ROOT / "var" / f"bench-oversized-{name}.log", "wb")  # noqa: SIM115  (closed below)
    process = subprocess.Popen(
        [*command, "-b", "127.0.0.1", "-p", str(port), "sora_social.asgi:application"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while not _healthy(port):
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"{name} server did not come up; see var/bench-oversized-{name}.log")
            time.sleep(0.5)
        head, body = _requests()[request]
        before = _rss_mib(process.pid)
        seconds, status = _exchange(port, head, body())
        grown = round(max(0.0, _rss_mib(process.pid) - before), 1)
        print(f"[oversized] {name} {request}: {status} after {seconds:.2f}s, +{grown} MiB", flush=True)
        return {
            f"{name}_{request}_answer_s": round(seconds, 3),
            f"{name}_{request}_status": status,
            f"{name}_{request}_rss_growth_mib": grown,
        }
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def main() -> None:
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=2).close()
    except OSError as exc:
        raise RuntimeError("PostgreSQL is not running: make services") from exc
    metrics: dict[str, float] = {}
    for name, command in SERVERS.items():
        for request in _requests():
            metrics.update(_measure(name, command, request))
    units = {key: "s" if key.endswith("_s") else "MiB" if key.endswith("_mib") else "http_status" for key in metrics}
    path = write_result(
        "oversized_requests",
        params={
            "body_mb": BODY_MB,
            "url_kb": URL_KB,
            "client": "raw socket; writes the whole request, then reads (status 0: dropped without an answer)",
            "servers": {
                "plain": "daphne (the same Django stack, RequestBodyLimitMiddleware included)",
                "guarded": "python -m sora_social.serve",
            },
        },
        metrics=metrics,
        units=units,
    )
    print(f"[oversized] wrote {path}")


if __name__ == "__main__":
    main()
