"""Atomic output: usual permissions, nothing half-written, an existing file survives a failure."""
import os
import stat

import pytest

from sagpr.atomic import atomic_path, write_text_atomic


def test_permissions_and_replace(tmp_path):
    target = tmp_path / "out.json"
    write_text_atomic(target, "one")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask
    write_text_atomic(target, "two")
    assert target.read_text() == "two"


def test_failure_keeps_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            with open(tmp, "w") as f:
                f.write("half")
            raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]
