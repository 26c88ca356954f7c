"""The demo model's out-of-domain notice: the threshold, chosen on one pair of prompt sets and
judged on another.

    python -m benchmarks.bench_demo_model_domain [--tune-seed 11] [--report-seed 12]

A prompt's score is the cosine similarity of its MiniLM embedding (the prompt policy's prepared
text) to its nearest row of the committed caption matrix (generation/video_model/weights/
caption_embeddings.npy, `manage.py build_demo_domain`); below the threshold it gets a notice.

Tuning (the threshold is chosen here and nowhere else):
  in-domain  - 400 training-grammar captions drawn with --tune-seed (none of them in the matrix)
               + the evaluation's held-out paraphrase prompts (eval_cases) under --tune-seed;
  out-of-domain - the even positions of benchmarks/data/everyday_video_prompts.json (120).
  The threshold (0.30-0.80 in steps of 0.01) maximises  out-of-domain flagged - 5 x in-domain
  flagged: a notice on a prompt the model can draw costs more than a blob nobody warned about,
  since an operator may turn notices into refusals.
Report (never used to choose):
  in-domain  - 400 grammar captions and the paraphrase prompts under --report-seed, and 40
               prompts written by hand in phrasings of our own (benchmarks/data/demo_in_domain_handwritten.json);
  out-of-domain - the odd positions of the written set (120), and VBench's 944 video prompts
               (benchmarks/data/vbench_prompts.json, shipped in the PyPI package vbench 0.1.5;
               written by others, for evaluating video generators).
Writes benchmarks/results/demo_model_domain.json. About 5 minutes on this machine (embedding).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parent / "data"
GRID = np.round(np.arange(0.30, 0.801, 0.01), 2)
FALSE_NOTICE_COST = 5.0


def _prompts(name: str) -> list[str]:
    return list(json.loads((DATA / name).read_text())["prompts"])


def choose_threshold(in_domain: np.ndarray, out_of_domain: np.ndarray) -> float:
    """The grid value maximising out-of-domain flagged - FALSE_NOTICE_COST x in-domain flagged
    (flagged = similarity below the threshold); the lowest such value on a tie."""
    scores = [float((out_of_domain < t).mean() - FALSE_NOTICE_COST * (in_domain < t).mean()) for t in GRID]
    return float(GRID[int(np.argmax(scores))])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tune-seed", type=int, default=11)
    parser.add_argument("--report-seed", type=int, default=12)
    parser.add_argument("--grammar-prompts", type=int, default=400)
    args = parser.parse_args(argv)

    from benchmarks.common import write_result
    from generation.video_model import domain, evaluation
    from moderation.policy import semantic

    started = time.monotonic()
    matrix = domain.load_matrix()
    meta = json.loads(domain.META_PATH.read_text())
    in_matrix = set(domain.sample_captions(meta["captions"], seed=meta["seed"]))

    def grammar(seed: int) -> list[str]:
        return domain.sample_captions(args.grammar_prompts, seed=seed, exclude=in_matrix)

    def paraphrases(seed: int) -> list[str]:
        cases = evaluation.eval_cases(240, 0, 40, seed=seed)
        return list(dict.fromkeys(c.prompt for c in cases if c.paraphrase))

    written = _prompts("everyday_video_prompts.json")
    sets = {
        "tune_in_grammar": grammar(args.tune_seed),
        "tune_in_paraphrase": paraphrases(args.tune_seed),
        "tune_out_written": written[0::2],
        "report_in_grammar": grammar(args.report_seed),
        "report_in_paraphrase": paraphrases(args.report_seed),
        "report_in_handwritten": _prompts("demo_in_domain_handwritten.json"),
        "report_out_written": written[1::2],
        "report_out_vbench": _prompts("vbench_prompts.json"),
    }
    similarity: dict[str, np.ndarray] = {}
    for name, texts in sets.items():
        print(f"[domain] embedding {name}: {len(texts)} prompts ...", flush=True)
        similarity[name] = domain.nearest_similarity(semantic.embed_many(texts), matrix)

    tune_in = np.concatenate([similarity["tune_in_grammar"], similarity["tune_in_paraphrase"]])
    threshold = choose_threshold(tune_in, similarity["tune_out_written"])

    # The cost of the check itself, the prompt's embedding aside (the policy already made it).
    vector = semantic.embed_prompt("a red ball drops and bounces twice")[None, :]
    rounds = 2000
    began = time.perf_counter()
    for _ in range(rounds):
        domain.nearest_similarity(vector, matrix)
    check_ms = (time.perf_counter() - began) / rounds * 1000

    metrics: dict[str, float] = {"threshold": threshold}
    units: dict[str, str] = {"threshold": "cosine similarity"}
    for name, values in similarity.items():
        metrics[f"{name}_flagged_share"] = round(float((values < threshold).mean()), 4)
        metrics[f"{name}_similarity_median"] = round(float(np.median(values)), 4)
        units[f"{name}_flagged_share"] = "fraction"
        units[f"{name}_similarity_median"] = "cosine similarity"
    metrics["check_ms_per_prompt"] = round(check_ms, 4)
    units["check_ms_per_prompt"] = "ms"

    def misses(name: str, flagged: bool) -> list[dict]:
        rows = [
            {"prompt": text, "similarity": round(float(value), 3)}
            for text, value in zip(sets[name], similarity[name], strict=True)
            if (value < threshold) == flagged
        ]
        return sorted(rows, key=lambda row: row["similarity"], reverse=not flagged)[:25]

    params = {
        "tune_seed": args.tune_seed,
        "report_seed": args.report_seed,
        "set_sizes": {name: len(texts) for name, texts in sets.items()},
        "matrix": {"captions": int(matrix.shape[0]), "seed": meta["seed"], "file": str(domain.MATRIX_PATH.name)},
        "rule": f"maximise out-of-domain flagged - {FALSE_NOTICE_COST:g} x in-domain flagged on the tune sets",
        "tune_rates_by_threshold": {
            f"{t:.2f}": [
                round(float((tune_in < t).mean()), 4),
                round(float((similarity["tune_out_written"] < t).mean()), 4),
            ]
            for t in GRID[::5]
        },
        "report_in_flagged": {name: misses(name, True) for name in sets if name.startswith("report_in")},
        "report_out_not_flagged": {name: misses(name, False) for name in sets if name.startswith("report_out")},
        "seconds": round(time.monotonic() - started, 1),
    }
    path = write_result("demo_model_domain", params=params, metrics=metrics, units=units)
    print(f"[domain] threshold {threshold:.2f}; wrote {path}", flush=True)
    for name in sets:
        print(f"  {name:24s} flagged {metrics[f'{name}_flagged_share']:.1%}", flush=True)


if __name__ == "__main__":
    main()
