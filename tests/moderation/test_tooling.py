"""The moderation tooling (tools/moderation): the prompt sets rebuild byte for byte from their
vocabulary files, and the app does not import the tooling or the case layer from the policy layer."""

from __future__ import annotations

import ast
from pathlib import Path

from tools.moderation import build_prompts
from tools.moderation.external import EXTERNAL_PATH

ROOT = Path(__file__).resolve().parents[2]


def test_prompt_sets_rebuild_byte_identical_from_the_vocabulary(tmp_path):
    for build, shipped in [
        (build_prompts.build_prompt_rows, build_prompts.PROMPTS_PATH),
        (build_prompts.build_restriction_rows, build_prompts.RESTRICTIONS_PATH),
        (build_prompts.build_people_rows, build_prompts.PEOPLE_PATH),
        (build_prompts.build_multilingual_rows, build_prompts.MULTILINGUAL_PATH),
    ]:
        built = tmp_path / shipped.name
        build_prompts.write_csv(built, build())
        assert built.read_bytes() == shipped.read_bytes(), shipped.name


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_moderation_imports_no_tooling_and_policy_imports_no_case_layer():
    wrong = []
    for path in sorted((ROOT / "moderation").rglob("*.py")):
        relative = path.relative_to(ROOT)
        for name in _imports(path):
            top = name.split(".")[0]
            if top in {"tools", "benchmarks"}:
                wrong.append(f"{relative}: {name}")
            # The policy layer sits below the case layer: only moderation.policy.* inside moderation.
            if relative.parts[1] == "policy" and top == "moderation" and not name.startswith("moderation.policy"):
                wrong.append(f"{relative}: {name}")
    assert wrong == []


def test_the_evaluation_sets_are_what_the_docs_say():
    import csv

    from moderation.policy.normalize import normalize

    people = list(csv.DictReader(build_prompts.PEOPLE_PATH.open(encoding="utf-8")))
    assert len(people) >= 500 and {r["split"] for r in people} == {"dev", "test"}
    # No action is in both splits, and no people prompt is in the training data.
    actions = {split: {r["action"] for r in people if r["split"] == split and r["action"]} for split in ("dev", "test")}
    assert not actions["dev"] & actions["test"]
    trained = {normalize(r["text"]) for r in csv.DictReader(build_prompts.PROMPTS_PATH.open(encoding="utf-8"))}
    assert not {normalize(r["text"]) for r in people} & trained
    # The training data's people actions (adults', children's, the hard negatives') are other actions.
    trained_actions = {
        action
        for key in ("people_everyday_actions", "people_minor_actions", "people_hard_negative_actions")
        for action in build_prompts.P[key]
    }
    assert not trained_actions & (actions["dev"] | actions["test"])
    languages = {r["language"] for r in csv.DictReader(build_prompts.MULTILINGUAL_PATH.open(encoding="utf-8"))}
    assert {"fr", "es", "de", "zh", "ru"} <= languages
    assert len(list(csv.DictReader(EXTERNAL_PATH.open(encoding="utf-8")))) == 1139
