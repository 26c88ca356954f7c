"""`make bench`: run every benchmark module in benchmarks/ (bench_*.py) one after another.

Each module has a `main()` that seeds what it needs, measures, and writes
benchmarks/results/<name>.json. Pass names to run a subset: python -m benchmarks.run_all events
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
from pathlib import Path


def main(selected: list[str]) -> int:
    here = Path(__file__).resolve().parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    if selected:
        names = [n for n in names if any(s in n for s in selected)]
    failures = 0
    for name in names:
        started = time.monotonic()
        print(f"[bench] {name} ...", flush=True)
        try:
            saved_argv = sys.argv
            sys.argv = [name]  # a module with its own options runs on its defaults here
            try:
                importlib.import_module(f"benchmarks.{name}").main()
            finally:
                sys.argv = saved_argv
        except Exception as exc:  # keep going: one broken benchmark should not hide the others
            failures += 1
            print(f"[bench] {name} FAILED: {exc!r}", flush=True)
            continue
        print(f"[bench] {name} done in {time.monotonic() - started:.1f}s", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
