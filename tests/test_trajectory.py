"""Frame index of an extended-XYZ file: offsets, range reads equal to ase's, clear parse errors."""
import gzip
import re

import numpy as np
import pytest
from ase.build import bulk, molecule
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import read, write

from sagpr.trajectory import index_frames, read_frames, require_extxyz


def varied_frames():
    """Different atom counts, periodic and not, per-atom arrays, awkward comment lines, a calculator."""
    out = []
    for k in range(6):
        atoms = bulk("NaCl", "rocksalt", a=5.64) * (1, 1, k % 3 + 1) if k != 3 else molecule("CH3CH2OH")
        atoms.rattle(0.05, seed=k)
        atoms.arrays["efg"] = np.random.default_rng(k).normal(size=(len(atoms), 9))
        atoms.arrays["tag_int"] = np.arange(len(atoms)) * (k + 1)
        atoms.arrays["label"] = np.array([f"s{i}" for i in range(len(atoms))])
        atoms.info["note"] = f'a "quoted" text with key=value {k}'
        atoms.info["equation"] = "E=mc^2"
        atoms.info["step"] = k
        atoms.info["vector"] = np.array([1.5, -2.0, k])
        if k == 4:
            atoms.calc = SinglePointCalculator(atoms, energy=-1.25, forces=np.ones((len(atoms), 3)) * 0.1)
        out.append(atoms)
    return out


def assert_same_frames(got, expected):
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a.numbers, b.numbers)
        np.testing.assert_array_equal(a.positions, b.positions)
        np.testing.assert_array_equal(a.cell.array, b.cell.array)
        np.testing.assert_array_equal(a.pbc, b.pbc)
        assert sorted(a.arrays) == sorted(b.arrays)
        for key in a.arrays:
            np.testing.assert_array_equal(a.arrays[key], b.arrays[key])
        assert sorted(a.info) == sorted(b.info)
        for key in a.info:
            np.testing.assert_array_equal(a.info[key], b.info[key])
        assert (a.calc is None) == (b.calc is None)
        if a.calc is not None:
            assert sorted(a.calc.results) == sorted(b.calc.results)
            for key in a.calc.results:
                np.testing.assert_array_equal(a.calc.results[key], b.calc.results[key])


@pytest.fixture
def trajectory(tmp_path):
    path = tmp_path / "traj.xyz"
    write(path, varied_frames(), format="extxyz")
    return path


def test_index_finds_every_frame(trajectory):
    index = index_frames(trajectory)
    raw = trajectory.read_bytes()
    starts, lines, pos, line = [], [], 0, 1
    # reference walk: count line, comment line, then that many atom lines
    text = raw.split(b"\n")
    while line - 1 < len(text) and text[line - 1].strip():
        starts.append(pos)
        lines.append(line)
        n = int(text[line - 1])
        for i in range(line - 1, line + 1 + n):
            pos += len(text[i]) + 1
        line += n + 2
    np.testing.assert_array_equal(index.offsets, starts + [len(raw)])
    np.testing.assert_array_equal(index.lines, lines)
    np.testing.assert_array_equal(index.natoms, [len(a) for a in varied_frames()])
    assert len(set(index.natoms)) > 2 and len(index) == 6
    assert index.path == str(trajectory.resolve())


def test_ranges_equal_ase(trajectory):
    index = index_frames(trajectory)
    expected = read(trajectory, ":")
    assert any(a.calc is not None for a in expected)
    for start, stop in [(0, 6), (0, 1), (2, 5), (5, 6), (3, 3), (4, 99)]:
        assert_same_frames(read_frames(index, start, stop), expected[start:stop])
    assert_same_frames(read_frames(index), expected)
    assert [len(s) for s in index.spans(4)] == [4, 2]


def test_crlf_vec_and_trailing_blank_lines(tmp_path):
    # Windows line ends, ase's VEC pseudo-cell lines, blank lines at the end: all as ase reads them
    path = tmp_path / "odd.xyz"
    body = ("2\ncomment one\nH 0 0 0\nH 0 0 0.74\nVEC1 5 0 0\nVEC2 0 5 0\nVEC3 0 0 5\n"
            "3\n\nO 0 0 0\nH 0.76 0.59 0\nH -0.76 0.59 0\n\n  \n")
    path.write_bytes(body.replace("\n", "\r\n").encode())
    index = index_frames(path)
    assert list(index.natoms) == [2, 3] and list(index.lines) == [1, 8]
    assert_same_frames(read_frames(index), read(path, ":"))


def test_bad_count_names_file_and_frame(trajectory):
    lines = trajectory.read_text().splitlines(keepends=True)
    index = index_frames(trajectory)
    k, line = 2, int(index.lines[2])
    lines[line - 1] = "twelve\n"
    trajectory.write_text("".join(lines))
    with pytest.raises(ValueError, match=rf"traj\.xyz: frame {k} \(line {line}\): expected the number of atoms, "
                                         "got 'twelve'"):
        index_frames(trajectory)


def test_truncated_last_frame(trajectory):
    lines = trajectory.read_text().splitlines(keepends=True)
    trajectory.write_text("".join(lines[:-2]))
    with pytest.raises(ValueError, match=r"traj\.xyz: frame 5 \(line \d+\): .*truncated"):
        index_frames(trajectory)
    trajectory.write_text("".join(lines[: int(index_lines(lines)[-1])]))  # only the count line of frame 5
    with pytest.raises(ValueError, match=r"traj\.xyz: frame 5 .*no comment line"):
        index_frames(trajectory)


def index_lines(lines):
    out, i = [], 0
    while i < len(lines):
        out.append(i + 1)
        i += int(lines[i]) + 2
    return out


def test_text_after_blank_line(trajectory):
    text = trajectory.read_text()
    first = text.splitlines(keepends=True)
    n = int(first[0]) + 2
    trajectory.write_text("".join(first[:n]) + "\n" + "".join(first[n:]))
    with pytest.raises(ValueError, match=rf"traj\.xyz: line {n + 2}: text after a blank line where frame 1"):
        index_frames(trajectory)


def test_garbled_atom_line_named_on_read(trajectory):
    lines = trajectory.read_text().splitlines(keepends=True)
    index = index_frames(trajectory)
    bad = int(index.lines[4]) + 3  # an atom line of frame 4 (1-based line numbers)
    lines[bad - 1] = re.sub(r"^(\S+\s+\S+\s+)\S+", r"\1abc", lines[bad - 1])
    trajectory.write_text("".join(lines))
    index = index_frames(trajectory)  # the count lines are intact
    assert_same_frames(read_frames(index, 0, 4), read(trajectory, "0:4"))
    with pytest.raises(ValueError, match=rf"traj\.xyz: frame 4 \(line {index.lines[4]}\): cannot parse"):
        read_frames(index, 2, 6)


def test_file_changed_after_indexing(trajectory):
    index = index_frames(trajectory)
    lines = trajectory.read_text().splitlines(keepends=True)
    trajectory.write_text("".join(lines[: int(index.lines[5]) - 1]))
    assert_same_frames(read_frames(index, 0, 5), read(trajectory, ":"))
    with pytest.raises(ValueError, match=r"traj\.xyz: frames 4-5: the file is shorter than when it was indexed"):
        read_frames(index, 4, 6)


def test_other_formats_are_refused(tmp_path):
    atoms = bulk("Si")
    write(tmp_path / "si.cif", atoms)
    with pytest.raises(ValueError, match=r"si\.cif: reading frames by index range needs an extended XYZ file, not cif"):
        index_frames(tmp_path / "si.cif")
    write(tmp_path / "si.xyz", atoms)
    (tmp_path / "si.xyz.gz").write_bytes(gzip.compress((tmp_path / "si.xyz").read_bytes()))
    with pytest.raises(ValueError, match=r"needs an uncompressed extended XYZ file \(this one is gz-compressed\)"):
        require_extxyz(tmp_path / "si.xyz.gz")
    with pytest.raises(FileNotFoundError, match="no such file"):
        index_frames(tmp_path / "missing.xyz")
