"""Wall time of `sagpr reproduce --quick`, for one or several installs measured in the same run.

    python bench/reproduce_quick.py --repeats 3 /path/to/venv_a/bin/python /path/to/venv_b/bin/python

Runs alternate between the interpreters (a, b, a, b, ...) so load on the machine hits both alike;
prints the median and the ratio to the first interpreter.
"""
import argparse
import statistics
import subprocess
import sys
import tempfile
import time


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pythons", nargs="*", default=[sys.executable])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    times = {p: [] for p in args.pythons}
    for _ in range(args.repeats):
        for python in args.pythons:
            with tempfile.TemporaryDirectory() as out:
                start = time.perf_counter()
                subprocess.run([python, "-m", "sagpr", "reproduce", "--quick", "--out", out, "--no-progress"],
                               check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                times[python].append(time.perf_counter() - start)
    base = statistics.median(times[args.pythons[0]])
    for python, values in times.items():
        median = statistics.median(values)
        print(f"{python}: median {median:.1f} s over {len(values)} runs ({', '.join(f'{v:.1f}' for v in values)}); "
              f"ratio to first {median / base:.2f}")


if __name__ == "__main__":
    main()
