"""A small real HTTP server that speaks the OpenAI Videos API, for testing clients without a network.

Stdlib `http.server` in a thread, on 127.0.0.1 and a free port. It implements what the remote
backend and the `openai` SDK call, relative to `/v1`:

- `POST /videos` (JSON, or multipart/form-data with an `input_reference` image file),
- `GET /videos/{id}`: status moves queued -> in_progress -> completed one step per poll
  (`polls_to_complete` polls in all), with `progress` and the `openai-poll-after-ms` header,
- `GET /videos/{id}/content?variant=video|thumbnail|spritesheet`: a real H.264 MP4 rendered
  with PyAV (and JPEGs), available once completed,
- `POST /videos/{id}/remix` `{prompt}`, `DELETE /videos/{id}`, `GET /videos` (a cursor page).

Failure modes are chosen by markers in the prompt:
- `[reject]`: 400 with an OpenAI error body (`invalid_prompt`),
- `[crash]`: 500 with an error body (`internal_error`),
- `[fail:CODE]`: accepted, then the video ends `failed` with `error.code` = CODE,
- `[stuck]`: accepted, stays `in_progress` forever.

Flavours: `openai` (the default: JSON or multipart, OpenAI's fields only) and `vllm-omni`, which
speaks vLLM-Omni's documented `/v1/videos` (docs.vllm.ai, "Videos API"): multipart/form-data only
(a JSON body is a 400), with the extension fields `seed`, `negative_prompt`, `num_frames`, `fps`,
`num_inference_steps`, `guidance_scale` (type-checked: a wrong type is a 400; unknown fields are a
400 too, so a client that sends what the server does not take is caught), `GET /v1/models`, and
`num_frames` / `fps` deciding the clip's length and rate. `models=[...]` serves `GET /v1/models`
for either flavour (else it is a 404, as on OpenAI-compatible servers without it).

Load: `busy_posts=N` answers the next N creates 429 with `Retry-After: retry_after` (and an
OpenAI error body), `failing_polls=N` answers the next N status polls 503.

Rendered frames are deterministic from the prompt; with an input reference the first frame
is that image (so a test can see it arrived), and a remix is its parent's frames inverted.
Everything a client sent is recorded (`requests`, `poll_times`) for the tests to inspect.
"""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import io
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import av
import numpy as np
from PIL import Image

ALLOWED_SECONDS = ("4", "8", "12")
OPENAI_FIELDS = {"prompt", "model", "seconds", "size"}
# vLLM-Omni's /v1/videos: OpenAI's fields, `user`, and its extension fields with their types.
VLLM_OMNI_FIELDS: dict[str, type] = {
    "prompt": str,
    "model": str,
    "seconds": str,
    "size": str,
    "user": str,
    "width": int,
    "height": int,
    "num_frames": int,
    "fps": int,
    "num_inference_steps": int,
    "guidance_scale": float,
    "negative_prompt": str,
    "seed": int,
}


def _vllm_omni_field_errors(fields: dict[str, str], files: dict) -> str:
    """What vLLM-Omni would refuse in these form fields ("" if nothing)."""
    for name, value in fields.items():
        kind = VLLM_OMNI_FIELDS.get(name)
        if kind is None:
            return f"Unknown form field {name!r}."
        try:
            kind(value)
        except ValueError:
            return f"{name} must be {kind.__name__}, not {value!r}."
    unknown = set(files) - {"input_reference"}
    return f"Unknown file field {sorted(unknown)[0]!r}." if unknown else ""


SIZE = re.compile(r"^(\d{2,4})x(\d{2,4})$")


@dataclass
class FakeVideo:
    id: str
    prompt: str
    model: str
    seconds: str
    size: str
    created_at: int
    status: str = "queued"
    progress: int = 0
    polls: int = 0
    completed_at: int | None = None
    error: dict | None = None
    remixed_from_video_id: str | None = None
    input_reference: np.ndarray | None = None
    deleted: bool = False
    fps: int | None = None  # vLLM-Omni's `fps` / `num_frames`, when sent
    num_frames: int | None = None
    _mp4: bytes | None = field(default=None, repr=False)

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "object": "video",
            "created_at": self.created_at,
            "completed_at": self.completed_at,
            "expires_at": None,
            "error": self.error,
            "model": self.model,
            "progress": self.progress,
            "prompt": self.prompt,
            "remixed_from_video_id": self.remixed_from_video_id,
            "seconds": self.seconds,
            "size": self.size,
            "status": self.status,
        }

    @property
    def width_height(self) -> tuple[int, int]:
        width, height = SIZE.match(self.size).groups()
        return int(width), int(height)


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    content_type: str
    fields: dict[str, str]
    files: dict[str, tuple[str, str, bytes]]  # name -> (filename, content type, bytes)


class FakeVideosServer:
    """`with FakeVideosServer() as server: server.url` -> "http://127.0.0.1:PORT/v1"."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        poll_after_ms: int | None = 50,
        polls_to_complete: int = 3,
        fps: int = 8,
        model: str = "wan2.2-t2v",
        flavour: str = "openai",
        models: list[str] | None = None,
        busy_posts: int = 0,
        failing_polls: int = 0,
        retry_after: int | None = 1,
    ) -> None:
        self.flavour = flavour
        self.models = models
        self.busy_posts = busy_posts
        self.failing_polls = failing_polls
        self.retry_after = retry_after
        self.api_key = api_key
        self.poll_after_ms = poll_after_ms
        self.polls_to_complete = polls_to_complete
        self.fps = fps
        self.model = model
        self.videos: dict[str, FakeVideo] = {}
        self.requests: list[RecordedRequest] = []
        self.poll_times: dict[str, list[float]] = {}
        self._lock = threading.Lock()
        self._counter = 0
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- Lifecycle -------------------------------------------------------------------------

    def start(self) -> FakeVideosServer:
        server = self

        class Handler(_Handler):
            fake = server

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="fake-videos-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeVideosServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    # --- Model of the service --------------------------------------------------------------

    def _new_id(self) -> str:
        with self._lock:
            self._counter += 1
            return f"video_{self._counter:06d}"

    def create(self, fields: dict[str, str], reference: np.ndarray | None, parent: FakeVideo | None = None):
        video = FakeVideo(
            id=self._new_id(),
            prompt=fields["prompt"],
            model=fields.get("model") or self.model,
            seconds=fields.get("seconds") or "4",
            size=fields.get("size") or "720x1280",
            created_at=int(time.time()),
            input_reference=reference,
            remixed_from_video_id=parent.id if parent else None,
            fps=int(fields["fps"]) if fields.get("fps") else None,
            num_frames=int(fields["num_frames"]) if fields.get("num_frames") else None,
        )
        with self._lock:
            self.videos[video.id] = video
        return video

    def advance(self, video: FakeVideo) -> None:
        """One poll's worth of work."""
        with self._lock:
            self.poll_times.setdefault(video.id, []).append(time.monotonic())
            if video.status in ("completed", "failed"):
                return
            video.polls += 1
            if "[stuck]" in video.prompt:
                video.status, video.progress = "in_progress", 42
                return
            if video.polls >= self.polls_to_complete:
                failure = re.search(r"\[fail:([a-z_]+)\]", video.prompt)
                if failure:
                    video.status = "failed"
                    video.error = {"code": failure.group(1), "message": f"Generation failed: {failure.group(1)}"}
                else:
                    video.status, video.progress = "completed", 100
                    video.completed_at = int(time.time())
                return
            video.status = "in_progress"
            video.progress = round(100 * video.polls / self.polls_to_complete)

    def frames(self, video: FakeVideo) -> np.ndarray:
        width, height = video.width_height
        count = video.num_frames or int(video.seconds) * (video.fps or self.fps)
        if video.remixed_from_video_id:
            parent = self.frames(self.videos[video.remixed_from_video_id])
            return 255 - parent
        digest = hashlib.sha256(video.prompt.encode()).digest()
        base = np.array(list(digest[:3]), dtype=np.int32)
        ys, xs = np.mgrid[0:height, 0:width]
        frames = np.empty((count, height, width, 3), dtype=np.uint8)
        for i in range(count):
            frames[i, ..., 0] = (base[0] + 80 * xs // width + 3 * i) % 256
            frames[i, ..., 1] = (base[1] + 80 * ys // height) % 256
            frames[i, ..., 2] = (base[2] + 5 * i) % 256
        if video.input_reference is not None:
            reference = np.asarray(Image.fromarray(video.input_reference).resize((width, height)))
            frames[0] = reference
            frames[1] = reference
        return frames

    def mp4(self, video: FakeVideo) -> bytes:
        if video._mp4 is None:
            frames = self.frames(video)
            out = io.BytesIO()
            with av.open(out, mode="w", format="mp4") as container:
                stream = container.add_stream("libx264", rate=video.fps or self.fps)
                stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
                stream.options = {"preset": "ultrafast", "crf": "18"}
                for array in frames:
                    for packet in stream.encode(av.VideoFrame.from_ndarray(array, format="rgb24")):
                        container.mux(packet)
                for packet in stream.encode():
                    container.mux(packet)
            video._mp4 = out.getvalue()
        return video._mp4


class _Handler(BaseHTTPRequestHandler):
    fake: FakeVideosServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args) -> None:  # quiet
        pass

    # --- Plumbing ----------------------------------------------------------------------------

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, payload: dict, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json", headers)

    def _error(self, status: int, code: str, message: str, kind: str = "invalid_request_error") -> None:
        self._json(status, {"error": {"code": code, "message": message, "type": kind, "param": None}})

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _parse(self) -> tuple[dict[str, str], dict[str, tuple[str, str, bytes]]]:
        body = self._body()
        content_type = self.headers.get("Content-Type", "")
        if content_type.startswith("multipart/form-data"):
            message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                f"Content-Type: {content_type}\r\n\r\n".encode() + body
            )
            fields, files = {}, {}
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                payload = part.get_payload(decode=True) or b""
                if part.get_filename():
                    files[name] = (part.get_filename(), part.get_content_type(), payload)
                else:
                    fields[name] = payload.decode()
            return fields, files
        if content_type.startswith("application/json") or body[:1] == b"{":
            data = json.loads(body or b"{}")
            return {k: str(v) for k, v in data.items() if v is not None}, {}
        return {}, {}

    def _record(self, fields=None, files=None) -> None:
        self.fake.requests.append(
            RecordedRequest(
                method=self.command,
                path=self.path,
                headers={k.lower(): v for k, v in self.headers.items()},
                content_type=self.headers.get("Content-Type", ""),
                fields=fields or {},
                files=files or {},
            )
        )

    def _authorised(self) -> bool:
        if self.fake.api_key is None:
            return True
        if self.headers.get("Authorization") == f"Bearer {self.fake.api_key}":
            return True
        self._error(401, "invalid_api_key", "Incorrect API key provided.", "authentication_error")
        return False

    def _video(self, video_id: str) -> FakeVideo | None:
        video = self.fake.videos.get(video_id)
        if video is None or video.deleted:
            self._error(404, "video_not_found", f"No video with id {video_id!r}.")
            return None
        return video

    def _poll_headers(self, video: FakeVideo) -> dict[str, str]:
        if self.fake.poll_after_ms is None or video.status in ("completed", "failed"):
            return {}
        return {"openai-poll-after-ms": str(self.fake.poll_after_ms)}

    # --- Routes ------------------------------------------------------------------------------

    def do_POST(self) -> None:
        path = urlparse(self.path).path
        fields, files = self._parse()
        self._record(fields, files)
        if not self._authorised():
            return
        if path == "/v1/videos":
            return self._create(fields, files)
        match = re.fullmatch(r"/v1/videos/([\w-]+)/remix", path)
        if match:
            parent = self._video(match.group(1))
            if parent is None:
                return
            if parent.status != "completed":
                return self._error(400, "video_not_ready", "Only a completed video can be remixed.")
            if not fields.get("prompt"):
                return self._error(400, "missing_prompt", "prompt is required.")
            video = self.fake.create(
                {"prompt": fields["prompt"], "model": parent.model, "seconds": parent.seconds, "size": parent.size},
                None,
                parent=parent,
            )
            return self._json(200, video.as_json())
        self._error(404, "not_found", f"No route {path}.")

    def _create(self, fields: dict[str, str], files: dict) -> None:
        if self.fake.busy_posts > 0:
            self.fake.busy_posts -= 1
            headers = {"Retry-After": str(self.fake.retry_after)} if self.fake.retry_after is not None else {}
            return self._json(
                429,
                {"error": {"code": "rate_limit_exceeded", "message": "Too many requests.", "type": "rate_limit"}},
                headers,
            )
        if self.fake.flavour == "vllm-omni":
            if not self.headers.get("Content-Type", "").startswith("multipart/form-data"):
                return self._error(400, "invalid_request", "POST /v1/videos accepts multipart/form-data.")
            refused = _vllm_omni_field_errors(fields, files)
            if refused:
                return self._error(400, "invalid_value", refused)
        elif set(fields) - OPENAI_FIELDS:
            return self._error(400, "unknown_parameter", f"Unknown parameters: {sorted(set(fields) - OPENAI_FIELDS)}.")
        prompt = fields.get("prompt", "")
        if not prompt:
            return self._error(400, "missing_prompt", "prompt is required.")
        if "[reject]" in prompt:
            return self._error(400, "invalid_prompt", "This prompt cannot be rendered.")
        if "[crash]" in prompt:
            return self._error(500, "internal_error", "The server had an error.", "server_error")
        if fields.get("seconds", "4") not in ALLOWED_SECONDS:
            return self._error(400, "invalid_value", f"seconds must be one of {', '.join(ALLOWED_SECONDS)}.")
        size = SIZE.match(fields.get("size", "720x1280"))
        if not size or int(size.group(1)) % 2 or int(size.group(2)) % 2:
            return self._error(400, "invalid_value", "size must be WIDTHxHEIGHT with even numbers.")
        reference = None
        if "input_reference" in files:
            _, _, payload = files["input_reference"]
            try:
                with Image.open(io.BytesIO(payload)) as image:
                    reference = np.asarray(image.convert("RGB"))
            except OSError:
                return self._error(400, "invalid_input_reference", "input_reference is not an image.")
        video = self.fake.create(fields, reference)
        self._json(200, video.as_json())

    def do_GET(self) -> None:
        parsed = urlparse(self.path)
        self._record()
        if not self._authorised():
            return
        if parsed.path == "/v1/models" and self.fake.models is not None:
            data = [{"id": m, "object": "model", "owned_by": "vllm-omni"} for m in self.fake.models]
            return self._json(200, {"object": "list", "data": data})
        if parsed.path == "/v1/videos":
            videos = [v for v in self.fake.videos.values() if not v.deleted]
            data = [v.as_json() for v in videos]
            return self._json(
                200,
                {
                    "object": "list",
                    "data": data,
                    "has_more": False,
                    "first_id": data[0]["id"] if data else None,
                    "last_id": data[-1]["id"] if data else None,
                },
            )
        match = re.fullmatch(r"/v1/videos/([\w-]+)(/content)?", parsed.path)
        if not match:
            return self._error(404, "not_found", f"No route {parsed.path}.")
        video = self._video(match.group(1))
        if video is None:
            return
        if not match.group(2):
            if self.fake.failing_polls > 0:
                self.fake.failing_polls -= 1
                return self._error(503, "unavailable", "The server is restarting.", "server_error")
            self.fake.advance(video)
            return self._json(200, video.as_json(), self._poll_headers(video))
        if video.status != "completed":
            return self._error(409, "video_not_ready", "The video is not ready yet.")
        variant = parse_qs(parsed.query).get("variant", ["video"])[0]
        if variant == "video":
            return self._send(200, self.fake.mp4(video), "video/mp4")
        frames = self.fake.frames(video)
        image = Image.fromarray(frames[len(frames) // 2])
        if variant == "spritesheet":
            image = image.resize((image.width // 4, image.height // 4))
        elif variant != "thumbnail":
            return self._error(400, "invalid_variant", f"Unknown variant {variant!r}.")
        out = io.BytesIO()
        image.save(out, format="JPEG")
        self._send(200, out.getvalue(), "image/jpeg")

    def do_DELETE(self) -> None:
        path = urlparse(self.path).path
        self._record()
        if not self._authorised():
            return
        match = re.fullmatch(r"/v1/videos/([\w-]+)", path)
        if not match:
            return self._error(404, "not_found", f"No route {path}.")
        video = self._video(match.group(1))
        if video is None:
            return
        video.deleted = True
        self._json(200, {"id": video.id, "deleted": True, "object": "video.deleted"})
