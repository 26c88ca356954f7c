import json

import pytest
from django.core.management import call_command


@pytest.mark.slow
def test_eval_moderation_writes_the_benchmark_json(tmp_path, capsys):
    output = tmp_path / "moderation_eval.json"
    call_command("eval_moderation", "--limit", "60", "--skip-media", "--output", str(output))
    data = json.loads(output.read_text())
    assert set(data) == {"benchmark", "params", "metrics", "units", "machine", "when"}
    assert data["benchmark"] == "moderation_eval"
    for layer in ("rules", "classifier", "likeness", "pipeline"):
        for kind in ("flag", "block"):
            for measure in ("precision", "recall"):
                assert 0.0 <= data["metrics"][f"{layer}.{kind}.{measure}"] <= 1.0
    assert data["units"]["pipeline.flag.recall"] == "ratio"
    # Issue 20's sets: the people set's rates, the external set's recall, a row per language.
    for name in ("people.test.review_rate", "people.test.block_rate", "external.all.flag.recall"):
        assert 0.0 <= data["metrics"][name] <= 1.0
    for language in ("fr", "es", "de", "zh", "ru"):
        assert 0.0 <= data["metrics"][f"language.{language}.flag.recall"] <= 1.0
    out = capsys.readouterr().out
    assert "pipeline" in out and "people-and-actions, test" in out and "language zh" in out
