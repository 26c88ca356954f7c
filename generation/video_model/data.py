"""Procedural clips with captions: the training data of the embedded video model.

Every clip is a side view of a small dark room with a floor. One or two objects (a ball, a
square or a triangle in one of seven colours, or a "cameo" sprite textured with a reference
image) move under physics we control: they drop and bounce with restitution, are thrown,
slide with friction, roll, rise, jump, rest, or collide with each other. Each clip comes with
a caption drawn from a template grammar keyed by what happens in it (``caption_key``), so a
caption never says something the clip does not show.

Everything here is plain numpy so the generator runs anywhere (tests, training, evaluation)
and is reproducible from a ``numpy.random.Generator``. Positions are in pixels of a square
frame of ``size`` pixels; the physics constants are given for 32 px and scale with ``size``.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from dataclasses import dataclass, field

import numpy as np

# --- The world --------------------------------------------------------------------------

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 45, 45),
    "orange": (245, 140, 30),
    "yellow": (240, 215, 50),
    "green": (50, 185, 75),
    "blue": (50, 100, 235),
    "purple": (150, 70, 210),
    "white": (235, 235, 235),
}
SHAPES: tuple[str, ...] = ("ball", "square", "triangle")
CAMEO = "cameo"  # the shape name of a sprite drawn from a reference image

# Words the captions use for each shape (training vocabulary).
SHAPE_WORDS: dict[str, tuple[str, ...]] = {
    "ball": ("ball", "sphere", "ball"),
    "square": ("square", "box", "block", "cube"),
    "triangle": ("triangle", "triangle", "wedge"),
}
SIZE_RADIUS = {"small": (2.6, 3.0), "normal": (3.3, 4.0), "big": (4.6, 5.2)}
CAMEO_SIDE = 10.0  # the cameo sprite is a square this many pixels wide (at 32 px)
REF_SIZE = 16  # reference images are resized to REF_SIZE x REF_SIZE before use

GRAVITY = 45.0  # px / s^2 at 32 px
FLOOR_FRACTION = 27.0 / 32.0  # the floor's top edge, as a fraction of the height
REST_SPEED = 3.0  # px / s: slower than this after a bounce and the object rests
MIN_BOUNCE_HEIGHT = 1.5  # px: a bounce lower than this is not counted in captions

MOTIONS = ("drop", "throw", "slide", "roll", "rise", "jump", "static", "collide")


def scene_scale(size: int) -> float:
    return size / 32.0


def floor_y(size: int) -> float:
    return FLOOR_FRACTION * size


# A pixel whose channels differ from the empty room by more than this (0..255) shows an object:
# the evaluation's detector and the training's foreground weight both read it.
FOREGROUND_THRESHOLD = 40.0


def background(size: int) -> np.ndarray:
    """The empty room, float32 (size, size, 3) in 0..255: a dim gradient above a floor."""
    y = (np.arange(size, dtype=np.float32) + 0.5) / size
    top = np.array([16.0, 18.0, 30.0], np.float32)
    bottom = np.array([38.0, 40.0, 56.0], np.float32)
    img = top[None, :] + (bottom - top)[None, :] * y[:, None]
    img = np.repeat(img[:, None, :], size, axis=1)
    fy = floor_y(size)
    rows = np.arange(size) + 0.5
    img[rows > fy] = np.array([82.0, 70.0, 58.0], np.float32)
    edge = (rows > fy) & (rows < fy + max(1.0, size / 32.0))
    img[edge] = np.array([104.0, 90.0, 74.0], np.float32)
    return img


# --- Specs ------------------------------------------------------------------------------


@dataclass
class ObjectSpec:
    shape: str  # one of SHAPES or CAMEO
    colour: str | None  # a COLOURS key, None for a cameo
    radius: float  # px; half the visible width, roughly
    size_word: str = "normal"  # "small" | "normal" | "big"
    texture: np.ndarray | None = None  # (REF_SIZE, REF_SIZE, 3) uint8 for a cameo
    cameo_slot: int = -1  # which reference image (0 or 1) draws this object

    @property
    def half_height(self) -> float:
        """Distance from the object's centre (its centroid for triangles) to its bottom."""
        if self.shape == "triangle":
            return self.radius * 0.5 * 1.25
        return self.radius


@dataclass
class ClipSpec:
    motion: str
    objects: list[ObjectSpec]
    direction: str | None = None  # "left" | "right" | "up" | "down" of objects[0], or None
    n_bounces: int = 0  # visible bounces (drop) or jumps (jump)
    variant: str = ""  # collide: "both" | "hits"; slide: "stops" | ""
    tracks: np.ndarray | None = None  # (n_objects, T, 2) centre x, y per frame
    angles: np.ndarray | None = None  # (n_objects, T) rotation of rolling balls
    gravity: float = GRAVITY  # px / s^2 at this clip's size

    @property
    def has_cameo(self) -> bool:
        return any(o.shape == CAMEO for o in self.objects)

    def caption_key(self) -> tuple:
        """What the caption may say about this clip; captions are drawn per key."""
        subjects = tuple(
            ("cameo", o.cameo_slot) if o.shape == CAMEO else (o.colour, o.shape, o.size_word) for o in self.objects
        )
        count = self.n_bounces if self.motion in ("drop", "jump") else 0
        if self.motion == "drop":
            count = min(count, 4)
        return (self.motion, self.direction, count, self.variant, subjects)


# --- Physics ----------------------------------------------------------------------------


def _ballistic(
    x0: float,
    y0: float,
    vx: float,
    vy: float,
    *,
    rest_y: float,
    g: float,
    e: float,
    times: np.ndarray,
    x_min: float,
    x_max: float,
    bounce_friction: float = 1.0,
) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Integrate a body under gravity that bounces on the floor with restitution ``e``.

    Exact between bounces (piecewise parabolas), so the track is a true projectile. Returns the
    (T, 2) positions and the bounces as (time, apex height after the bounce).
    """
    events: list[tuple[float, float]] = []
    out = np.zeros((len(times), 2), np.float64)
    t, x, y, resting = 0.0, x0, y0, False
    seg = []  # (t_start, x, y, vx, vy, resting)
    t_end = float(times[-1]) + 1e-6
    while t < t_end and len(seg) < 64:
        seg.append((t, x, y, vx, vy, resting))
        if resting:
            break
        # time until y(t) = rest_y: y + vy dt + g dt^2 / 2 = rest_y
        disc = vy * vy + 2.0 * g * (rest_y - y)
        dt = (-vy + math.sqrt(max(disc, 0.0))) / g
        t, x, y = t + dt, x + vx * dt, rest_y
        vy_hit = vy + g * dt
        vy = -e * vy_hit
        vx *= bounce_friction
        if -vy < REST_SPEED:
            vy, resting = 0.0, True
        else:
            events.append((t, vy * vy / (2.0 * g)))
    starts = np.array([s[0] for s in seg])
    for i, tt in enumerate(times):
        k = int(np.searchsorted(starts, tt, side="right") - 1)
        ts, sx, sy, svx, svy, srest = seg[k]
        dt = tt - ts
        px = sx + svx * dt
        py = sy if srest else sy + svy * dt + 0.5 * g * dt * dt
        out[i] = (px, min(py, rest_y))
    # Side walls reflect (rarely reached: specs keep objects inside).
    span = x_max - x_min
    rel = np.mod(out[:, 0] - x_min, 2 * span)
    out[:, 0] = x_min + np.where(rel > span, 2 * span - rel, rel)
    return out, events


def _count_visible(events: list[tuple[float, float]], duration: float, scale: float) -> int:
    return sum(1 for t, h in events if h >= MIN_BOUNCE_HEIGHT * scale and t < duration - 0.2)


# --- Sampling specs ---------------------------------------------------------------------


def _random_object(rng: np.random.Generator, *, shape: str | None = None) -> ObjectSpec:
    shape = shape or str(rng.choice(SHAPES))
    colour = str(rng.choice(list(COLOURS)))
    size_word = str(rng.choice(["small", "normal", "big"], p=[0.2, 0.6, 0.2]))
    lo, hi = SIZE_RADIUS[size_word]
    return ObjectSpec(shape, colour, float(rng.uniform(lo, hi)), size_word)


def _cameo_object(texture: np.ndarray, slot: int) -> ObjectSpec:
    return ObjectSpec(CAMEO, None, CAMEO_SIDE / 2.0, "normal", texture=texture, cameo_slot=slot)


def sample_clip_spec(
    rng: np.random.Generator,
    *,
    size: int = 32,
    frames: int = 32,
    fps: int = 8,
    motion: str | None = None,
    cameo_textures: list[np.ndarray] | None = None,
    objects: list[ObjectSpec] | None = None,
    direction: str | None = None,
    motion_boost: dict[str, float] | None = None,
) -> ClipSpec:
    """Draw a random clip: motion, objects and the physics that moves them.

    ``cameo_textures`` (0-2 reference images) makes the first objects cameo sprites;
    ``objects``/``motion``/``direction`` pin those choices (used by evaluation);
    ``motion_boost`` multiplies the default odds of some motions (a training focus).
    """
    s = scene_scale(size)
    times = np.arange(frames) / fps
    duration = frames / fps
    g = GRAVITY * s * float(rng.uniform(0.9, 1.1))
    fy = floor_y(size)
    textures = list(cameo_textures or [])
    n_objects = 2 if (motion == "collide" or len(textures) == 2) else None
    if motion is None:
        if len(textures) == 2:
            motion = "collide"
        else:
            choices = ["drop", "throw", "slide", "roll", "rise", "jump", "static", "collide"]
            weights = np.array([0.24, 0.10, 0.14, 0.10, 0.11, 0.12, 0.05, 0.14])
            for name, factor in (motion_boost or {}).items():
                weights[choices.index(name)] *= factor
            if textures:  # a cameo sprite is a square card: it slides, never rolls
                weights[choices.index("roll")] = 0.0
            motion = str(rng.choice(choices, p=weights / weights.sum()))
    n_objects = n_objects or (2 if motion == "collide" else 1)
    if objects is None:
        objects = []
        for i in range(n_objects):
            if i < len(textures):
                objects.append(_cameo_object(textures[i], i))
            elif motion == "roll":
                objects.append(_random_object(rng, shape="ball"))
            elif motion == "slide":
                objects.append(_random_object(rng, shape=str(rng.choice(["square", "triangle"]))))
            else:
                objects.append(_random_object(rng))
        if n_objects == 2 and objects[1].shape != CAMEO:
            while objects[1].colour == objects[0].colour:  # two objects, two colours
                objects[1] = _random_object(rng, shape=objects[1].shape)
    for o in objects:
        o.radius = o.radius * s if o.shape != CAMEO else CAMEO_SIDE * s / 2.0
    spec = ClipSpec(motion=motion, objects=objects, gravity=g)
    main = objects[0]
    rest0 = fy - main.half_height
    margin = 2.0 * s
    x_min, x_max = main.radius + margin * 0.5, size - main.radius - margin * 0.5
    tracks = np.zeros((len(objects), frames, 2))
    angles = np.zeros((len(objects), frames))
    pick_dir = direction or str(rng.choice(["left", "right"]))
    sign = 1.0 if pick_dir == "right" else -1.0

    if motion == "drop":
        x0 = rng.uniform(size * 0.25, size * 0.75)
        y0 = rng.uniform(main.half_height + 1.0 * s, 11.0 * s)
        e = float(rng.choice([rng.uniform(0.0, 0.3), rng.uniform(0.3, 0.85)], p=[0.15, 0.85]))
        tr, ev = _ballistic(x0, y0, 0.0, 0.0, rest_y=rest0, g=g, e=e, times=times, x_min=x_min, x_max=x_max)
        tracks[0] = tr
        spec.n_bounces = _count_visible(ev, duration, s)
        spec.direction = "down"
    elif motion == "throw":
        spec.direction = pick_dir
        x0 = size / 2 - sign * rng.uniform(9.0, 12.0) * s
        y0 = rng.uniform(7.0 * s, 15.0 * s)
        vx = sign * rng.uniform(4.0, 5.5) * s
        vy = -rng.uniform(0.0, 12.0) * s
        e = float(rng.uniform(0.45, 0.8))
        tr, _ = _ballistic(
            x0,
            y0,
            vx,
            vy,
            rest_y=rest0,
            g=g,
            e=e,
            times=times,
            x_min=x_min,
            x_max=x_max,
            bounce_friction=0.9,
        )
        tracks[0] = tr
    elif motion in ("slide", "roll"):
        spec.direction = pick_dir
        dist = rng.uniform(11.0, 18.0) * s
        if motion == "slide":
            stop_t = rng.uniform(2.0, 4.6)
            spec.variant = "stops" if stop_t <= 3.6 else ""
        else:
            stop_t = rng.uniform(5.0, 9.0)  # rolling barely slows down
        x0 = size / 2 - sign * dist / 2 + rng.uniform(-2.0, 2.0) * s
        tt = np.minimum(times, stop_t)
        # Constant deceleration reaching zero speed at stop_t, scaled to cover ``dist`` in
        # the clip.
        shape_fn = tt * (2 * stop_t - tt) / (stop_t**2)
        span = min(duration, stop_t)
        travelled = span * (2 * stop_t - span) / stop_t**2
        tracks[0, :, 0] = x0 + sign * dist * shape_fn / travelled
        tracks[0, :, 1] = rest0
        if motion == "roll":
            angles[0] = (tracks[0, :, 0] - x0) / max(main.radius, 1e-3)
    elif motion == "rise":
        spec.direction = "up"
        x0 = rng.uniform(size * 0.25, size * 0.75)
        y0 = rest0 - rng.uniform(0.0, 2.0) * s
        dist = rng.uniform(12.0, y0 - main.radius - 1.0 * s)
        if rng.random() < 0.5:  # buoyant: accelerating upward
            yy = y0 - dist * (times / duration) ** 2
        else:  # steady drift upward
            yy = y0 - dist * times / duration
        tracks[0, :, 0] = x0 + rng.uniform(-1.0, 1.0) * s * np.sin(times * 2.0)
        tracks[0, :, 1] = yy
    elif motion == "jump":
        x0 = rng.uniform(size * 0.25, size * 0.75)
        height = rng.uniform(6.0, 11.0) * s
        v = math.sqrt(2 * g * height)
        air = 2 * v / g
        pause = rng.uniform(0.1, 0.5)
        t_first = rng.uniform(0.0, 0.4)
        yy = np.full(frames, rest0)
        count = 0
        start = t_first
        while start + air <= duration - 0.1:
            m = (times >= start) & (times <= start + air)
            dt = times[m] - start
            yy[m] = rest0 - (v * dt - 0.5 * g * dt * dt)
            count += 1
            start += air + pause
        spec.n_bounces = count
        tracks[0, :, 0] = x0
        tracks[0, :, 1] = yy
    elif motion == "static":
        tracks[0, :, 0] = rng.uniform(size * 0.2, size * 0.8)
        tracks[0, :, 1] = rest0
    elif motion == "collide":
        other = objects[1]
        rest1 = fy - other.half_height
        spec.variant = str(rng.choice(["both", "hits"]))
        spec.direction = pick_dir if spec.variant == "hits" else None
        gap = main.radius + other.radius
        dt_sim = 1.0 / (fps * 16)
        xa = size / 2 - sign * rng.uniform(9.0, 12.0) * s
        xb = size / 2 + sign * rng.uniform(3.0, 7.0) * s
        va = sign * rng.uniform(7.0, 11.0) * s
        vb = -sign * rng.uniform(5.0, 9.0) * s if spec.variant == "both" else 0.0
        e, friction = 0.85, 1.5 * s
        steps = round(duration / dt_sim)
        xs = np.zeros((steps + 1, 2))
        xs[0] = xa, xb
        collided = False
        for k in range(1, steps + 1):
            va -= np.sign(va) * min(abs(va), friction * dt_sim)
            vb -= np.sign(vb) * min(abs(vb), friction * dt_sim)
            xa, xb = xa + va * dt_sim, xb + vb * dt_sim
            if not collided and (xb - xa) * sign <= gap:
                # Equal masses, restitution e: the 1-D collision law.
                va, vb = (va + vb - e * (va - vb)) / 2, (va + vb + e * (va - vb)) / 2
                collided = True
            xs[k] = xa, xb
        idx = np.round(times / dt_sim).astype(int)
        tracks[0, :, 0], tracks[1, :, 0] = xs[idx, 0], xs[idx, 1]
        tracks[0, :, 1], tracks[1, :, 1] = rest0, rest1
        for i, o in enumerate(objects):
            if o.shape == "ball":
                angles[i] = (tracks[i, :, 0] - tracks[i, 0, 0]) / max(o.radius, 1e-3)
            lo, hi = o.radius, size - o.radius
            tracks[i, :, 0] = np.clip(tracks[i, :, 0], lo, hi)
    else:
        raise ValueError(f"unknown motion {motion!r}")
    spec.tracks = tracks
    spec.angles = angles
    return spec


# --- Rendering --------------------------------------------------------------------------


def _sdf(shape: str, dx: np.ndarray, dy: np.ndarray, r: float) -> np.ndarray:
    """Signed distance (px) to the shape's edge; negative inside. dy points down."""
    if shape == "ball":
        return np.sqrt(dx * dx + dy * dy) - r
    if shape in ("square", CAMEO):
        qx, qy = np.abs(dx) - r, np.abs(dy) - r
        outside = np.sqrt(np.maximum(qx, 0) ** 2 + np.maximum(qy, 0) ** 2)
        return outside + np.minimum(np.maximum(qx, qy), 0)
    if shape == "triangle":
        # Equilateral, pointing up, centroid at the origin; half side a (after Inigo Quilez).
        a = r * 1.25 * math.sqrt(3) / 2
        k = math.sqrt(3.0)
        px = np.abs(dx) - a
        py = -dy + a / k
        flip = px + k * py > 0
        px, py = (
            np.where(flip, (px - k * py) / 2, px),
            np.where(flip, (-k * px - py) / 2, py),
        )
        px = px - np.clip(px, -2 * a, 0)
        return -np.sqrt(px * px + py * py) * np.sign(py)
    raise ValueError(shape)


def _sample_texture(tex: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Bilinear lookup of an (R, R, 3) texture at continuous texel coordinates."""
    res = tex.shape[0]
    u = np.clip(u, 0, res - 1)
    v = np.clip(v, 0, res - 1)
    u0, v0 = np.floor(u).astype(int), np.floor(v).astype(int)
    u1, v1 = np.minimum(u0 + 1, res - 1), np.minimum(v0 + 1, res - 1)
    fu, fv = (u - u0)[..., None], (v - v0)[..., None]
    t = tex.astype(np.float32)
    top = t[v0, u0] * (1 - fu) + t[v0, u1] * fu
    bot = t[v1, u0] * (1 - fu) + t[v1, u1] * fu
    return top * (1 - fv) + bot * fv


def render_clip(spec: ClipSpec, *, size: int = 32, colour_jitter: np.ndarray | None = None) -> np.ndarray:
    """Draw a spec as (T, size, size, 3) uint8 frames, anti-aliased by signed distance."""
    assert spec.tracks is not None and spec.angles is not None
    frames = spec.tracks.shape[1]
    img = np.broadcast_to(background(size), (frames, size, size, 3)).copy()
    grid = np.arange(size, dtype=np.float32) + 0.5
    gy, gx = np.meshgrid(grid, grid, indexing="ij")
    for i, obj in enumerate(spec.objects):
        cx = spec.tracks[i, :, 0].astype(np.float32)[:, None, None]
        cy = spec.tracks[i, :, 1].astype(np.float32)[:, None, None]
        dx, dy = gx[None] - cx, gy[None] - cy
        cover = np.clip(0.5 - _sdf(obj.shape, dx, dy, obj.radius), 0.0, 1.0)[..., None]
        if obj.shape == CAMEO:
            assert obj.texture is not None
            res = obj.texture.shape[0]
            side = 2 * obj.radius
            colour = _sample_texture(
                obj.texture, (dx + obj.radius) / side * res - 0.5, (dy + obj.radius) / side * res - 0.5
            )
        else:
            base = np.array(COLOURS[obj.colour], np.float32)
            if colour_jitter is not None:
                base = np.clip(base + colour_jitter[i], 0, 255)
            # Light from above: a little brighter at the top of the object.
            shade = 1.0 + 0.12 * np.clip(-dy / max(obj.radius, 1e-3), -1, 1)
            colour = base[None, None, None, :] * shade[..., None]
            if obj.shape == "ball":
                # A darker band through the centre makes rolling visible.
                ang = spec.angles[i].astype(np.float32)[:, None, None]
                dist = np.abs(-np.sin(ang) * dx + np.cos(ang) * dy)
                band = np.clip(1.2 - dist, 0.0, 1.0)
                colour = colour * (1.0 - 0.3 * band[..., None])
        img = img * (1 - cover) + np.clip(colour, 0, 255) * cover
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)


# --- Cameo reference textures -----------------------------------------------------------


def random_texture(rng: np.random.Generator, res: int = REF_SIZE) -> np.ndarray:
    """A random reference image standing in for a cameo: faces, stripes, blocks, gradients."""
    kind = str(rng.choice(["face", "blocks", "stripes", "gradient", "smooth", "emoji"]))

    def colour() -> np.ndarray:
        return rng.uniform(0, 255, 3).astype(np.float32)

    yy, xx = np.mgrid[0:res, 0:res].astype(np.float32) + 0.5
    u, v = xx / res, yy / res
    if kind == "blocks":
        n = int(rng.choice([2, 3, 4]))
        cells = rng.uniform(0, 255, (n, n, 3)).astype(np.float32)
        img = cells[np.minimum((v * n).astype(int), n - 1), np.minimum((u * n).astype(int), n - 1)]
    elif kind == "stripes":
        a, b = colour(), colour()
        ang = rng.uniform(0, math.pi)
        period = rng.uniform(0.25, 0.6)
        t = (np.cos(ang) * u + np.sin(ang) * v) / period
        img = np.where(((t % 1.0) < 0.5)[..., None], a, b)
    elif kind == "gradient":
        a, b = colour(), colour()
        ang = rng.uniform(0, 2 * math.pi)
        t = np.clip(0.5 + (np.cos(ang) * (u - 0.5) + np.sin(ang) * (v - 0.5)), 0, 1)[..., None]
        img = a * (1 - t) + b * t
    elif kind == "smooth":
        small = rng.uniform(0, 255, (3, 3, 3)).astype(np.float32)
        img = _sample_texture(small, u * 2, v * 2)
    else:  # a face or an emoji: a disc with eyes and a mouth on a backdrop
        bg, skin = colour(), colour()
        if kind == "face":
            skin = np.array([rng.uniform(150, 250), rng.uniform(100, 190), rng.uniform(70, 150)], np.float32)
        img = np.broadcast_to(bg, (res, res, 3)).copy()
        r = np.sqrt((u - 0.5) ** 2 + (v - 0.55) ** 2)
        img[r < 0.38] = skin
        if kind == "face":
            hair = colour() * 0.5
            img[(r < 0.42) & (v < 0.35)] = hair
        dark = np.array([20, 20, 30], np.float32)
        for ex in (0.37, 0.63):
            img[np.sqrt((u - ex) ** 2 + (v - 0.5) ** 2) < 0.07] = dark
        mouth = (np.abs(v - 0.72) < 0.04) & (np.abs(u - 0.5) < 0.14)
        img[mouth] = np.array([150, 40, 50], np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def resize_reference(image: np.ndarray, res: int = REF_SIZE) -> np.ndarray:
    """Any HxWx3 uint8 image -> (res, res, 3) uint8, centre-cropped square then area-resized."""
    import cv2

    img = np.asarray(image)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    img = img[..., :3].astype(np.uint8)
    h, w = img.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    img = img[top : top + side, left : left + side]
    interp = cv2.INTER_AREA if side > res else cv2.INTER_LINEAR
    return cv2.resize(img, (res, res), interpolation=interp)


# --- Captions ---------------------------------------------------------------------------

NUMBER_WORDS = {1: ("once", "one time"), 2: ("twice", "two times"), 3: ("three times", "thrice")}
SUFFIXES = (
    "",
    "",
    "",
    " on a dark background",
    ", side view",
    ", simple 2D animation",
    " in a dim room",
    ", seen from the side",
)
CAMEO_NAMES = (
    "@alex",
    "@maya",
    "@sam",
    "@jo",
    "@riley",
    "@nina_k",
    "@theo",
    "@ava.m",
    "@leo22",
    "@priya",
    "@kai",
    "@zoe",
    "@omar",
    "@lina",
    "@ben_t",
    "@mia",
    "@ivan",
    "@sara.b",
    "@tom",
    "@yuki",
    "my cameo",
    "the cameo",
    "my friend",
    "the character",
)
HELDOUT_CAMEO_NAMES = ("@jordan", "@emma_r", "@noah", "@chloe", "my buddy", "@lucas.p")


def _motion_phrases(motion: str, direction: str | None, count: int, variant: str) -> list[str]:
    """Third-person verb phrases for one object (training vocabulary)."""
    d = direction or ""
    if motion == "drop":
        if count == 0:
            return [
                "drops and lands",
                "falls to the floor",
                "falls and lands with a thud",
                "drops to the ground",
                "falls down and stops",
            ]
        generic = ["drops and bounces", "falls and bounces", "falls down and bounces on the floor"]
        if count >= 4:
            return [
                *generic,
                "drops and keeps bouncing",
                "falls and bounces several times",
                "falls and bounces again and again",
            ]
        out = []
        for w in NUMBER_WORDS[count]:
            out += [
                f"drops and bounces {w}",
                f"falls and bounces {w}",
                f"falls to the floor and bounces {w}",
                f"is dropped and bounces {w}",
            ]
        return out + generic
    if motion == "throw":
        return [
            f"is thrown to the {d}",
            f"is tossed to the {d} and bounces",
            f"bounces along to the {d}",
            f"hops across to the {d}",
            f"flies to the {d} and bounces",
        ]
    if motion == "slide":
        out = [
            f"slides to the {d}",
            f"slides {d}",
            f"glides to the {d}",
            f"slides across the floor to the {d}",
            f"skids to the {d}",
        ]
        if variant == "stops":
            out += [f"slides to the {d} and stops", f"skids {d}, then stops"]
        return out
    if motion == "roll":
        return [
            f"rolls to the {d}",
            f"rolls {d}",
            f"rolls across the floor to the {d}",
            f"rolls along to the {d}",
        ]
    if motion == "rise":
        return ["floats up", "rises", "rises into the air", "drifts upward", "moves up", "flies up"]
    if motion == "jump":
        out = ["jumps up and down", "hops in place", "jumps on the spot", "keeps jumping"]
        if count in NUMBER_WORDS:
            out += [f"jumps {w}" for w in NUMBER_WORDS[count]]
        return out
    if motion == "static":
        return ["sits on the floor", "rests on the ground", "stays still", "sits still"]
    raise ValueError(motion)


def _subject_phrases(subject: tuple, *, heldout_names: bool = False) -> list[str]:
    if subject[0] == "cameo":
        return list(HELDOUT_CAMEO_NAMES if heldout_names else CAMEO_NAMES)
    colour, shape, size_word = subject
    sizes = [""] if size_word == "normal" else [f"{size_word} ", ""]
    out = []
    for det, size, word in itertools.product(("a", "the", "one"), sizes, SHAPE_WORDS[shape]):
        out.append(f"{det} {size}{colour} {word}")
    return list(dict.fromkeys(out))


def _collide_phrases(a: str, b: str, a_shape: str, variant: str, direction: str | None) -> list[str]:
    if variant == "both":
        return [
            f"{a} and {b} collide",
            f"{a} and {b} crash into each other",
            f"{a} and {b} bump into each other and bounce apart",
            f"{a} collides with {b}",
        ]
    verb = "rolls" if a_shape == "ball" else "slides"
    return [
        f"{a} {verb} into {b}",
        f"{a} {verb} to the {direction} into {b}",
        f"{a} hits {b}",
        f"{a} knocks {b} to the {direction}",
        f"{a} {verb} {direction} and hits {b}",
    ]


def captions_for_key(key: tuple, *, limit: int = 24, heldout_names: bool = False) -> list[str]:
    """All training captions for a caption key, a deterministic subset of at most ``limit``."""
    motion, direction, count, variant, subjects = key
    out: list[str] = []
    if motion == "collide":
        a_list = _subject_phrases(subjects[0], heldout_names=heldout_names)
        b_list = _subject_phrases(subjects[1], heldout_names=heldout_names)
        a_shape = subjects[0][1] if subjects[0][0] != "cameo" else CAMEO
        for a, b in itertools.product(a_list, b_list):
            if a == b:
                continue
            out += _collide_phrases(a, b, a_shape, variant, direction)
    else:
        for subj in _subject_phrases(subjects[0], heldout_names=heldout_names):
            out += [f"{subj} {p}" for p in _motion_phrases(motion, direction, count, variant)]
    out = [c + sfx for c in out for sfx in SUFFIXES]
    out = list(dict.fromkeys(out))
    seed = int(hashlib.sha1(repr(key).encode()).hexdigest()[:8], 16)
    rng = np.random.default_rng(seed)
    if len(out) > limit:
        out = [out[i] for i in sorted(rng.choice(len(out), limit, replace=False))]
    return out


def all_caption_keys() -> list[tuple]:
    """Every caption key the generator can produce (for precomputing embeddings)."""
    keys: list[tuple] = []
    singles = [(c, s, z) for c in COLOURS for s in SHAPES for z in ("small", "normal", "big")]
    cameo_subj = [("cameo", 0)]
    motion_keys: list[tuple[str, str | None, int, str]] = []
    motion_keys += [("drop", "down", n, "") for n in range(5)]
    motion_keys += [("throw", d, 0, "") for d in ("left", "right")]
    motion_keys += [("slide", d, 0, v) for d in ("left", "right") for v in ("", "stops")]
    motion_keys += [("roll", d, 0, "") for d in ("left", "right")]
    motion_keys += [("rise", "up", 0, "")]
    motion_keys += [("jump", None, n, "") for n in range(0, 5)]
    motion_keys += [("static", None, 0, "")]
    for m, d, n, v in motion_keys:
        for subj in singles + cameo_subj:
            if m == "roll" and subj[1] != "ball":
                continue
            if m == "slide" and subj[1] == "ball":
                continue
            keys.append((m, d, n, v, (subj,)))
    pair_subjects = []
    for a, b in itertools.product(singles, singles):
        if a[0] != b[0]:
            pair_subjects.append((a, b))
    pair_subjects += [(("cameo", 0), b) for b in singles]
    pair_subjects += [(("cameo", 0), ("cameo", 1))]
    for subjects in pair_subjects:
        keys.append(("collide", None, 0, "both", subjects))
        for d in ("left", "right"):
            keys.append(("collide", d, 0, "hits", subjects))
    return keys


def caption_limit(key: tuple) -> int:
    motion, _, _, _, subjects = key
    if any(s[0] == "cameo" for s in subjects):
        return 48
    return 4 if motion == "collide" else 12


# --- Training examples ------------------------------------------------------------------


@dataclass
class Example:
    video: np.ndarray  # (T, S, S, 3) uint8
    caption: str
    key: tuple
    refs: np.ndarray  # (2, REF_SIZE, REF_SIZE, 3) uint8, zeros where absent
    n_refs: int
    spec: ClipSpec = field(repr=False, default=None)  # type: ignore[assignment]


def sample_example(
    rng: np.random.Generator,
    *,
    size: int = 32,
    frames: int = 32,
    fps: int = 8,
    p_cameo: float = 0.2,
    p_two_cameos: float = 0.2,
    captions: dict[tuple, list[str]] | None = None,
    motion_boost: dict[str, float] | None = None,
) -> Example:
    """One random training example: a clip, a caption that fits it, and its cameo refs."""
    refs = np.zeros((2, REF_SIZE, REF_SIZE, 3), np.uint8)
    textures: list[np.ndarray] = []
    if rng.random() < p_cameo:
        textures.append(random_texture(rng))
        if rng.random() < p_two_cameos:
            textures.append(random_texture(rng))
    spec = sample_clip_spec(rng, size=size, frames=frames, fps=fps, cameo_textures=textures, motion_boost=motion_boost)
    for i, t in enumerate(textures):
        refs[i] = t
    jitter = rng.uniform(-12, 12, (len(spec.objects), 3)).astype(np.float32)
    video = render_clip(spec, size=size, colour_jitter=jitter)
    key = spec.caption_key()
    options = captions[key] if captions is not None else captions_for_key(key, limit=caption_limit(key))
    caption = options[int(rng.integers(len(options)))]
    return Example(video, caption, key, refs, len(textures), spec)
