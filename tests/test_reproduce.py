"""The README's first command, `sagpr reproduce --quick`, end to end (data, comparison, final model,
large models, prediction, classification, one report), then the README's Python examples."""
import json
import re
import shlex
from pathlib import Path

import numpy as np
import pytest
from ase.io import read

from sagpr.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"


def blocks(language):
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_reproduce_quick_and_examples(tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)
    commands = [line.split("#")[0].strip() for line in blocks("bash")[0].splitlines()]
    commands = [c for c in commands if c.startswith("sagpr ")]
    assert commands and commands[0].startswith("sagpr reproduce --quick")
    for line in commands:
        assert main(shlex.split(line)[1:] + ["--no-progress"]) == 0

    out = tmp_path / "lto_run"
    report = (out / "report.md").read_text()
    assert "| theta (deg) |" in report and "| 26.9 |" in report  # ours beside the study's 0.47 rad
    for name in ("lto_efg.xyz", "li.sagpr", "lto_1512.xyz", "predicted.xyz", "compare_Li/report.md",
                 "compare_Li/report.json", "histogram/omega_q_histogram.png", "histogram/regions.json"):
        assert (out / name).exists(), name
    predicted = read(out / "predicted.xyz", index=":")
    li = np.concatenate([a.arrays["omega_q"][a.numbers == 3] for a in predicted])
    assert len(predicted) == 2 and np.all(np.isfinite(li))
    regions = json.loads((out / "histogram/regions.json").read_text())
    assert sum(r["count"] for r in regions["regions"]) + regions["unclassified"] == len(li)

    examples = blocks("python")
    assert len(examples) >= 2
    for code in examples:
        exec(compile(code, str(README), "exec"), {})
    assert (tmp_path / "li.sagpr").exists()
    assert "q~" in capsys.readouterr().out


def test_mae_table_of_other_nuclei():
    from sagpr.workflows.comparison.reproduce import mae_table

    tens = {"C~Q": {"mae": 0.2}, "omega_Q": {"mae": 7.9}, "q~": {"mae": 0.01}}
    scal = {"C~Q": {"mae": 2.1}, "omega_Q": {"mae": 202.4}}
    lines = mae_table(tens, scal).splitlines()
    assert lines[2:] == ["| C~Q | 2.1 | 0.2 |", "| omega_Q | 202 | 7.9 |"]


def test_report_explains_differences_and_gives_both_conventions(tmp_path):
    from sagpr.workflows.comparison.reproduce import differences_section, study_table, ReproduceSettings
    from sagpr.workflows.comparison.compare import CompareSettings

    text = "\n".join(differences_section(ReproduceSettings.quick_settings(), CompareSettings(by_structure=False)))
    for word in ("Data", "Convention", "Split", "Hyperparameters"):
        assert f"**{word}**" in text
    assert "subset" not in text and "random 8000" in "\n".join(
        differences_section(ReproduceSettings(), CompareSettings(by_structure=False, search_max_sites=8000)))
    screened = "\n".join(differences_section(ReproduceSettings(), CompareSettings(by_structure=False, tensor_screen=0.25)))
    assert "random 25 % of the training sites" in screened and "within 5 %" in screened
    table = study_table({"C~Q": {"mae": 0.1, "r": 0.9}}, {"C~Q": {"mae": 0.2}}, {"C~Q": {"mae": 0.5}})
    assert "signed" in table.splitlines()[0] and "| 0.5 |" in table.splitlines()[2]
    # the study gives its angle MAEs in rad, sagpr reports degrees: the table shows both in degrees
    theta = [row for row in table.splitlines() if row.startswith("| theta (deg) |")][0]
    assert "| 26.9 |" in theta and "| 8.59 |" in theta  # 0.47 and 0.15 rad


def test_full_search_flag_turns_the_tensor_screen_off(tmp_path, monkeypatch):
    from sagpr.cli import main
    from sagpr.workflows.comparison import reproduce

    seen = []
    monkeypatch.setattr(reproduce, "reproduce", lambda out, settings, progress=True: seen.append(settings) or out)
    assert main(["reproduce", "--out", str(tmp_path / "a"), "--no-progress"]) == 0
    assert main(["reproduce", "--out", str(tmp_path / "b"), "--no-progress", "--full-search"]) == 0
    assert seen[0].tensor_screen == 0.25 and seen[0].tensor_screen_tolerance == 0.05
    assert seen[1].tensor_screen is None
