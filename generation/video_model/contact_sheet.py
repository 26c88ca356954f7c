"""A contact sheet of the demo model: a few prompts, every few frames of each clip, one PNG.

    python -m generation.video_model.contact_sheet --output docs/img/demo_model.png

Each row is one prompt drawn by the shipped checkpoint (seed fixed, so the picture is
reproducible), `--frames` frames spread over its 4 seconds, each scaled up from the model's
32 x 32. The README shows it to say plainly what the model can and cannot draw. Plain module.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

DEFAULT_PROMPTS = (
    "a red ball drops and bounces twice",
    "a big blue box slides to the right and stops",
    "the green ball and the yellow triangle crash into each other",
    "an astronaut riding a horse",  # out of domain: what it draws instead
)
LABEL_HEIGHT = 22


def render_sheet(
    prompts: list[str], *, frames: int = 8, cell: int = 96, seed: int = 7, checkpoint: str | None = None
) -> np.ndarray:
    """The sheet as an (H, W, 3) uint8 image: one labelled row per prompt."""
    import cv2
    from PIL import Image, ImageDraw

    from generation.video_model.pipeline import ClipRequest, VideoModelPipeline

    pipe = VideoModelPipeline.load(checkpoint=checkpoint, device="cpu")
    requests = [
        ClipRequest(
            prompt=p,
            seed=seed,
            seconds=4,
            cameo_images=[],
            remix_frames=None,
            remix_strength=0.6,
            extend_frames=None,
            steps=None,
            guidance=None,
        )
        for p in prompts
    ]
    clips = pipe.generate(requests, progress=lambda fraction: None)
    width = frames * cell + (frames - 1) * 2
    rows = []
    for prompt, clip in zip(prompts, clips, strict=True):
        clip = np.asarray(clip)
        picks = np.linspace(0, len(clip) - 1, frames).round().astype(int)
        row = np.full((LABEL_HEIGHT + cell, width, 3), 255, np.uint8)
        for i, t in enumerate(picks):
            x = i * (cell + 2)
            row[LABEL_HEIGHT:, x : x + cell] = cv2.resize(clip[t], (cell, cell), interpolation=cv2.INTER_NEAREST)
        label = Image.fromarray(row)
        ImageDraw.Draw(label).text(
            (4, 5), f'"{prompt}"  ({len(clip) / pipe.fps:.0f} s, {pipe.fps} fps)', fill=(0, 0, 0)
        )
        rows.append(np.asarray(label))
        rows.append(np.full((6, width, 3), 255, np.uint8))
    return np.concatenate(rows[:-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", default="docs/img/demo_model.png")
    parser.add_argument("--prompt", action="append", help="a prompt (repeat); default: three in-domain, one not")
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--cell", type=int, default=96, help="pixels per frame on the sheet")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--checkpoint", default=None)
    args = parser.parse_args(argv)

    from PIL import Image

    sheet = render_sheet(
        list(args.prompt or DEFAULT_PROMPTS),
        frames=args.frames,
        cell=args.cell,
        seed=args.seed,
        checkpoint=args.checkpoint,
    )
    path = Path(args.output)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(sheet).save(path, optimize=True)
    print(f"wrote {path} ({sheet.shape[1]} x {sheet.shape[0]})")


if __name__ == "__main__":
    main()
