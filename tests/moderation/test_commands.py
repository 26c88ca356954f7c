import json

import pytest
from django.core.management import call_command


@pytest.mark.slow
def test_eval_moderation_writes_the_benchmark_json(tmp_path, capsys):
    output = tmp_path / "moderation_eval.json"
    call_command("eval_moderation", "--limit", "120", "--skip-media", "--output", str(output))
    data = json.loads(output.read_text())
    assert set(data) == {"benchmark", "params", "metrics", "units", "machine", "when"}
    assert data["benchmark"] == "moderation_eval"
    for layer in ("rules", "classifier", "likeness", "pipeline"):
        for kind in ("flag", "block"):
            for measure in ("precision", "recall"):
                assert 0.0 <= data["metrics"][f"{layer}.{kind}.{measure}"] <= 1.0
    assert data["units"]["pipeline.flag.recall"] == "ratio"
    assert "pipeline" in capsys.readouterr().out
