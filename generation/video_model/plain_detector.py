"""A second, simpler detector for the evaluation: it shares nothing with training.

The evaluation's main detector (`evaluation.detect`) knows the room the training data is drawn
in (`data.background`), cuts foreground at `data.FOREGROUND_THRESHOLD` (the same cut training
uses to weigh the object's pixels) and names a colour by the nearest of the training palette's
seven RGB values. A model that learned exactly those conventions could please it without
drawing what a person would call "a red ball moving left". This one uses none of them:

* background: each row's own median colour (the room, whatever it is, is assumed to be the
  most common colour along a row; nothing is known about it in advance);
* foreground: pixels whose distance from their row's median is above Otsu's cut of that
  frame's distances (chosen per frame from the frame itself), when the two classes Otsu
  separates differ at all (the foreground's mean distance at least twice the background's);
* colour: the median foreground colour over the clip, named by hue on the ordinary colour
  wheel (red, orange, yellow, green, blue, purple; white when unsaturated and bright);
* direction: the foreground's centroid, mean of the last quarter of the frames against the
  first quarter, must move at least a sixteenth of the frame the way the prompt says.

Only colour and direction are judged: shape, physics and cameo fidelity stay with the main
detector. Plain module: numpy only; no Django, nothing from `generation.video_model.data`.
"""

from __future__ import annotations

import colorsys

import numpy as np

# Hue (degrees) upper bounds of the colour-wheel names; above the last, red again.
HUE_NAMES: tuple[tuple[float, str], ...] = (
    (15.0, "red"),
    (40.0, "orange"),
    (70.0, "yellow"),
    (165.0, "green"),
    (255.0, "blue"),
    (345.0, "purple"),
    (360.0, "red"),
)
WHITE_MAX_SATURATION = 0.25
WHITE_MIN_VALUE = 0.7
MIN_SEPARATION = 2.0  # foreground mean distance / background mean distance, else "nothing there"
DIRECTION_MIN_SHARE = 1 / 16  # of the frame's side


def otsu_cut(values: np.ndarray) -> float:
    """Otsu's threshold of a set of values (256 bins between their min and max)."""
    values = np.asarray(values, np.float64).ravel()
    low, high = float(values.min()), float(values.max())
    if high - low < 1e-9:
        return high
    hist, edges = np.histogram(values, bins=256, range=(low, high))
    weights = hist.astype(np.float64) / hist.sum()
    centres = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(weights)
    mu = np.cumsum(weights * centres)
    total = mu[-1]
    w1 = 1.0 - w0
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (total * w0 - mu) ** 2 / (w0 * w1)
    between[~np.isfinite(between)] = -1.0
    return float(edges[int(np.argmax(between)) + 1])


def foreground(frame: np.ndarray) -> np.ndarray:
    """Boolean (H, W) mask of what stands out from its row; empty when nothing does."""
    pixels = np.asarray(frame, np.float32)
    rows = np.median(pixels, axis=1, keepdims=True)
    distance = np.abs(pixels - rows).max(-1)
    cut = otsu_cut(distance)
    mask = distance > cut
    if not mask.any() or mask.all():
        return np.zeros(distance.shape, bool)
    if distance[mask].mean() < MIN_SEPARATION * max(1e-6, float(distance[~mask].mean())):
        return np.zeros(distance.shape, bool)
    return mask


def colour_name(rgb: np.ndarray) -> str:
    r, g, b = (float(c) / 255.0 for c in rgb)
    hue, saturation, value = colorsys.rgb_to_hsv(r, g, b)
    if saturation < WHITE_MAX_SATURATION and value >= WHITE_MIN_VALUE:
        return "white"
    degrees = hue * 360.0
    return next(name for bound, name in HUE_NAMES if degrees < bound)


def judge_colour(clip: np.ndarray) -> str | None:
    """The clip's foreground colour by name; None when no frame shows anything."""
    picked = [np.asarray(frame)[foreground(frame)] for frame in clip]
    picked = [p for p in picked if len(p)]
    if len(picked) < max(1, len(clip) // 2):
        return None
    return colour_name(np.median(np.concatenate(picked), axis=0))


def judge_direction(clip: np.ndarray, direction: str) -> bool:
    """Whether the foreground moves the way the prompt says (left, right, up, down)."""
    centres: list[tuple[float, float] | None] = []
    for frame in clip:
        ys, xs = np.nonzero(foreground(frame))
        centres.append((float(xs.mean()), float(ys.mean())) if len(xs) else None)
    quarter = max(1, len(clip) // 4)
    first = [c for c in centres[:quarter] if c is not None]
    last = [c for c in centres[-quarter:] if c is not None]
    if not first or not last:
        return False
    dx, dy = np.mean(last, axis=0) - np.mean(first, axis=0)
    along = {"right": dx, "left": -dx, "down": dy, "up": -dy}[direction]
    return bool(along >= DIRECTION_MIN_SHARE * np.asarray(clip).shape[2])


def score(cases: list, clips: list[np.ndarray]) -> dict:
    """Colour and direction adherence over evaluation cases (cameo cases are left out)."""
    colour_ok: list[bool] = []
    direction_ok: list[bool] = []
    for case, clip in zip(cases, clips, strict=True):
        if case.cameo is not None:
            continue
        colour_ok.append(judge_colour(clip) == case.main.colour)
        if case.spec.direction:
            direction_ok.append(judge_direction(clip, case.spec.direction))

    def rate(xs: list[bool]) -> float | None:
        return round(float(np.mean(xs)), 4) if xs else None

    return {
        "colour_adherence": rate(colour_ok),
        "direction_adherence": rate(direction_ok),
        "counts": {"appearance_prompts": len(colour_ok), "direction_prompts": len(direction_ok)},
    }
