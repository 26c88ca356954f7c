"""How often the cameo verifier reads the challenge card it served.

    python -m benchmarks.bench_challenge_card [--cards 600] [--seed 1]

Draws random challenges (id 1-2000, a six-digit code), renders each card as the card endpoint
does (QR plus the code in digits), shows it for a second after a 3-second clip of a drawn pet in
a 640x480 H.264 clip, decodes the clip as the verifier does and counts the cards read by
`vision.scan_challenge` (classic detector, then the ArUco one) against OpenCV's classic
`QRCodeDetector` alone. Writes benchmarks/results/challenge_card.json; progress every 100 cards.
"""

from __future__ import annotations

import argparse
import random
import time


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cards", type=int, default=600)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    import cv2

    from benchmarks.common import write_result
    from cameos import vision
    from sora_social.demo.sections.cameos import FPS, _card_frames, _pet_frames

    rng = random.Random(args.seed)
    pet = _pet_frames(3)
    classic = cv2.QRCodeDetector()
    missed_shipped: list[str] = []
    missed_classic: list[str] = []
    scan_seconds: list[float] = []
    started = time.monotonic()
    for n in range(1, args.cards + 1):
        challenge_id, code = rng.randint(1, 2000), f"{rng.randrange(10**6):06d}"
        payload = vision.challenge_payload(challenge_id, code)
        card = vision.render_challenge_card(payload, code_text=f"{code[:3]} {code[3:]}")
        frames = _card_frames(vision.encode_png(card))
        clip = vision.decode_clip(vision.encode_clip(pet + frames, fps=FPS), max_seconds=10)

        t0 = time.perf_counter()
        if payload not in vision.scan_challenge(clip).payloads:
            missed_shipped.append(payload)
        scan_seconds.append(time.perf_counter() - t0)
        if not any(classic.detectAndDecode(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY))[0] == payload for f in clip.frames):
            missed_classic.append(payload)
        if n % 100 == 0:
            print(
                f"{n}/{args.cards} cards: missed {len(missed_shipped)} (classic detector alone "
                f"{len(missed_classic)}), {time.monotonic() - started:.0f}s",
                flush=True,
            )

    scan_seconds.sort()
    metrics = {
        "cards_missed": len(missed_shipped),
        "cards_missed_classic_detector_only": len(missed_classic),
        "miss_rate": len(missed_shipped) / args.cards,
        "miss_rate_classic_detector_only": len(missed_classic) / args.cards,
        "scan_ms_per_clip_p50": round(1000 * scan_seconds[len(scan_seconds) // 2], 1),
    }
    units = {
        "cards_missed": "cards",
        "cards_missed_classic_detector_only": "cards",
        "miss_rate": "fraction",
        "miss_rate_classic_detector_only": "fraction",
        "scan_ms_per_clip_p50": "ms (16 kept frames)",
    }
    params = {
        "cards": args.cards,
        "seed": args.seed,
        "clip": "3 s drawn pet + 1 s card, 640x480, 8 fps, H.264 crf 20",
        "missed_payloads": missed_shipped,
        "missed_payloads_classic_detector_only": missed_classic,
    }
    path = write_result("challenge_card", params=params, metrics=metrics, units=units)
    print(f"wrote {path}: {metrics}")


if __name__ == "__main__":
    main()
