"""Frames of a stored video for the banned-media list, decoded without holding the whole clip.

A 12 s 720p clip is ~300 frames of 2.7 MB each; only the few frames the perceptual hash looks
at are kept (the same even sampling `moderation.policy.media` uses when it checks a video).
"""

from __future__ import annotations

import av
import numpy as np

from moderation.policy.media import HASH_FRAMES, frame_hashes, sample_indices


def sampled_frames(stream_file, *, frame_count: int, k: int = HASH_FRAMES) -> list[np.ndarray]:
    """RGB frames at `k` evenly spaced positions of a video file (an open binary file)."""
    wanted = set(sample_indices(max(1, frame_count), k))
    last = max(wanted)
    frames: list[np.ndarray] = []
    with av.open(stream_file, mode="r") as container:
        if not container.streams.video:
            return []
        for position, frame in enumerate(container.decode(video=0)):
            if position in wanted:
                frames.append(frame.to_ndarray(format="rgb24"))
            if position >= last:
                break
    return frames


def video_file_hashes(stream_file, *, frame_count: int) -> list[str]:
    """Perceptual hashes of a stored video (flat, detail-less frames are skipped)."""
    frames = sampled_frames(stream_file, frame_count=frame_count)
    return frame_hashes(frames, max_frames=len(frames)) if frames else []
