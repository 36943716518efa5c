"""The README's "your own data" commands run as written (in a fresh folder)."""
import re
import shlex
from pathlib import Path

import pytest

from sagpr.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"

pytestmark = pytest.mark.usefixtures("one_thread")


def _commands(marker):
    text = README.read_text()
    block = re.search(rf"<!-- {marker} -->\s*```bash\n(.*?)```\s*<!-- /{marker} -->", text, re.S)
    assert block, f"README has no {marker} block"
    lines = [line.split("#", 1)[0].strip() for line in block.group(1).splitlines()]
    return [shlex.split(line) for line in lines if line]


def test_own_data_section_runs(tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)
    for argv in _commands("own-data"):
        assert argv[0] == "sagpr"
        assert main(argv[1:]) == 0, f"{' '.join(argv)}: {capsys.readouterr().err}"
    assert (tmp_path / "li.sagpr").is_file() and (tmp_path / "score.json").is_file()
    assert (tmp_path / "score.md").is_file() and (tmp_path / "parity.png").stat().st_size > 1000
    assert len(list((tmp_path / "predicted").glob("lto_*.magres"))) == 10
    assert (tmp_path / "regions" / "regions.json").is_file()
