"""How often the "no person in a pet, object or character clip" check refuses a clip with no person
in it (the face detector's false positives), and how fast it is.

    python -m benchmarks.bench_object_faces [--model 50] [--procedural 50] [--objects 30]
                                            [--pets 20] [--natural 20] [--faces 20]

Every clip is 3 s at 8 fps, 640x480, H.264, and goes through the check the characters API runs
at upload (`cameos.verification.non_person_clip_check`: every frame kept at 8 fps scanned by
the bundled face detector; refused when a face's box is at least 6 % of the short side; run
here step by step to count the face boxes too):
- object clips (no person): the embedded video model's clips (prompts and seeds drawn from its
  caption vocabulary, the cache of bench_media_match), clips of its training world drawn
  procedurally, drawn objects on a table (mugs, boxes, balls; random colours, sizes, motion),
  drawn pets (the demo's), "natural-ish" textures panned and zoomed;
- clips with a face (the check must refuse): the drawn head of the test suite at random sizes
  and places, in 10 of the 24 frames of an object clip.
Writes benchmarks/results/object_faces.json.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

W, H, FPS = 640, 480, 8
FRAMES = 3 * FPS


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=int, default=50)
    parser.add_argument("--procedural", type=int, default=50)
    parser.add_argument("--objects", type=int, default=30)
    parser.add_argument("--pets", type=int, default=20)
    parser.add_argument("--natural", type=int, default=20)
    parser.add_argument("--faces", type=int, default=20)
    parser.add_argument("--seed", type=int, default=3)
    return parser.parse_args(argv)


def _letterbox(small: np.ndarray) -> list[np.ndarray]:
    from generation.video_model.pipeline import upscale_frames

    return list(upscale_frames(small[:FRAMES], width=W, height=H))


def drawn_objects(rng: np.random.Generator) -> list[np.ndarray]:
    import cv2

    table, wall = rng.integers(60, 230, size=3).tolist(), rng.integers(60, 230, size=3).tolist()
    colour = rng.integers(0, 256, size=3).tolist()
    shape = rng.choice(["mug", "box", "ball"])
    size, x, vx = int(rng.integers(50, 130)), int(rng.integers(150, 490)), float(rng.uniform(-8, 8))
    frames = []
    for i in range(FRAMES):
        img = np.full((H, W, 3), wall, np.uint8)
        cv2.rectangle(img, (0, 330), (W, H), table, -1)
        cx = int(x + vx * i)
        if shape == "mug":
            cv2.rectangle(img, (cx - size, 330 - 2 * size), (cx + size, 330), colour, -1)
            cv2.ellipse(img, (cx + size + 20, 330 - size), (25, 40), 0, 0, 360, colour, 10)
        elif shape == "box":
            cv2.rectangle(img, (cx - size, 330 - size), (cx + size, 330), colour, -1)
            cv2.line(img, (cx - size, 330 - size), (cx + size, 330), (20, 20, 20), 3)
        else:
            cv2.circle(img, (cx, 330 - size), size, colour, -1)
            cv2.circle(img, (cx - size // 3, 330 - size - size // 3), max(3, size // 5), (255, 255, 255), -1)
        frames.append(img)
    return frames


def pets(rng: np.random.Generator) -> list[np.ndarray]:
    import cv2

    lawn, fur = rng.integers(40, 200, size=3).tolist(), rng.integers(40, 240, size=3).tolist()
    frames = []
    x0 = int(rng.integers(120, 300))
    for i in range(FRAMES):
        img = np.full((H, W, 3), lawn, np.uint8)
        x = x0 + 8 * i
        cv2.ellipse(img, (x, 300), (110, 60), 0, 0, 360, fur, -1)  # body
        cv2.circle(img, (x + 110, 240), 45, fur, -1)  # head
        cv2.ellipse(img, (x + 130, 205), (14, 28), 20, 0, 360, (120, 80, 40), -1)  # ear
        cv2.circle(img, (x + 125, 235), 5, (10, 10, 10), -1)  # eye
        cv2.circle(img, (x + 150, 250), 7, (20, 20, 20), -1)  # nose
        frames.append(img)
    return frames


def natural(rng: np.random.Generator) -> list[np.ndarray]:
    import cv2

    side = 1024
    field = np.zeros((side, side, 3), np.float32)
    for scale, weight in ((256, 1.0), (64, 0.6), (16, 0.35), (4, 0.2)):
        coarse = rng.normal(size=(side // scale + 2, side // scale + 2, 3)).astype(np.float32)
        field += weight * cv2.resize(coarse, (side, side), interpolation=cv2.INTER_CUBIC)
    field = (field - field.min()) / (np.ptp(field) or 1.0) * 255 * rng.uniform(0.4, 1.0, size=3)
    x, y, vx, vy = rng.uniform(0, 300), rng.uniform(0, 300), rng.uniform(-15, 15), rng.uniform(-15, 15)
    frames = []
    for i in range(FRAMES):
        x0, y0 = int(np.clip(x + vx * i, 0, side - W)), int(np.clip(y + vy * i, 0, side - H))
        frames.append(field[y0 : y0 + H, x0 : x0 + W].clip(0, 255).astype(np.uint8))
    return frames


def with_face(rng: np.random.Generator) -> list[np.ndarray]:
    from cameos import vision

    frames = drawn_objects(rng)
    scale = float(rng.uniform(0.5, 0.7))
    cx = int(rng.integers(W // 3, 2 * W // 3))
    for i in sorted(rng.choice(FRAMES, size=10, replace=False).tolist()):
        frames[i] = vision.draw_face(width=W, height=H, scale=scale, cx=cx)
    return frames


def main(argv: list[str] | None = None) -> None:
    args = _args(argv)
    from benchmarks.common import django_setup, percentile, write_result

    django_setup()
    from benchmarks.bench_media_match import model_clips
    from cameos import constants, vision
    from cameos.verification import faces_shown
    from generation.video_model.data import render_clip, sample_clip_spec

    rng = np.random.default_rng(args.seed)
    clips, _ = model_clips(args.model)
    kinds = [
        ("model_clips", args.model, lambda k: _letterbox(clips[k])),
        ("procedural_model_world", args.procedural, lambda k: _letterbox(render_clip(sample_clip_spec(rng), size=32))),
        ("drawn_objects", args.objects, lambda k: drawn_objects(rng)),
        ("drawn_pets", args.pets, lambda k: pets(rng)),
        ("natural_ish_textures", args.natural, lambda k: natural(rng)),
        ("face_in_10_of_24_frames", args.faces, lambda k: with_face(rng)),
    ]
    metrics: dict[str, float] = {}
    units: dict[str, str] = {}
    check_ms: list[float] = []
    frames_with_any_face = frames_scanned = 0
    refused_objects = objects = 0
    started = time.monotonic()
    for kind, count, make in kinds:
        refused = 0
        for k in range(count):
            frames = make(k)
            data = vision.encode_clip(frames, fps=FPS)
            # What `non_person_clip_check` runs, with the face boxes kept for the frame count.
            t0 = time.perf_counter()
            clip = vision.decode_clip(
                data, max_seconds=constants.max_clip_seconds(), sample_fps=constants.non_person_scan_fps()
            )
            faces = vision.scan_all_faces(clip)
            refused += bool(faces_shown(clip, faces))
            if kind != "face_in_10_of_24_frames":
                # Any face box at all, whatever its size: such a frame is never a reference.
                frames_with_any_face += faces.face_frames
                frames_scanned += len(faces.boxes)
            check_ms.append(1000 * (time.perf_counter() - t0))
        if kind == "face_in_10_of_24_frames":
            metrics["face_clips_refused_rate"] = round(refused / max(1, count), 4)
            units["face_clips_refused_rate"] = f"fraction of {count} clips with a face in 10 of 24 frames"
        else:
            metrics[f"false_refusals_{kind}"] = refused
            units[f"false_refusals_{kind}"] = f"clips of {count}"
            refused_objects += refused
            objects += count
        print(f"[object_faces] {kind}: {refused}/{count} refused, {time.monotonic() - started:.0f}s", flush=True)
    metrics["false_refusal_rate_object_clips"] = round(refused_objects / max(1, objects), 5)
    units["false_refusal_rate_object_clips"] = f"fraction of {objects} clips with no person"
    metrics["frames_with_any_face_box_rate"] = round(frames_with_any_face / max(1, frames_scanned), 5)
    units["frames_with_any_face_box_rate"] = f"fraction of {frames_scanned} frames of clips with no person"
    metrics["check_ms_per_clip_p50"] = round(percentile(check_ms, 50), 1)
    metrics["check_ms_per_clip_p95"] = round(percentile(check_ms, 95), 1)
    units["check_ms_per_clip_p50"] = units["check_ms_per_clip_p95"] = "ms (3 s, 640x480: decode + 24 frames scanned)"
    params = {
        "clip": f"3 s, {W}x{H}, {FPS} fps, H.264 (vision.encode_clip)",
        "detector": "NudeNet 320n, FACE_FEMALE/FACE_MALE, score >= 0.3",
        "refuse_when": "face box longer side >= CAMEO_NON_PERSON_FACE_MIN_SIDE (0.06) x short side, any frame",
        "seed": args.seed,
        "elapsed_s": round(time.monotonic() - started),
    }
    path = write_result("object_faces", params=params, metrics=metrics, units=units)
    print(f"[object_faces] {metrics}\n[object_faces] wrote {path}", flush=True)


if __name__ == "__main__":
    main()
