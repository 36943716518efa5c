"""The README's commands and examples run as written."""
import re
import shlex
from pathlib import Path

import pytest

from sagpr.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"


def blocks(language):
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_commands_and_examples(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    run = [line.split("#")[0].strip() for line in blocks("bash")[0].splitlines()]
    sagpr_lines = [line for line in run if line.startswith("sagpr ")]
    assert sagpr_lines, "the README's first command block should run sagpr"
    for line in sagpr_lines:
        assert main(shlex.split(line)[1:]) == 0
    examples = blocks("python")
    assert len(examples) >= 2
    for code in examples:
        exec(compile(code, str(README), "exec"), {})
    assert (tmp_path / "li.sagpr").exists()
    assert "q~" in capsys.readouterr().out
