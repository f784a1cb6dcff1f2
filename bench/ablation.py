"""What each technique of the fast MNIST recipe is worth: the recipe with one thing changed at a time.

Every variant runs as a fresh `cnnlab train mnist --recipe fast ...` process, `--repeats` times, the variants
taken in turn (A, B, C, A, B, C ...) so that a busy spell of the machine falls on all of them alike.
Prints a markdown table: wall seconds min / median, ratio to the recipe, final test accuracy.

    CNNLAB_DATA=../shared/data .venv/bin/python bench/ablation.py [--repeats 2]
"""
import argparse
import statistics
import subprocess
import sys
import time

VARIANTS = {
    "fast recipe": [],
    "fp32 instead of bf16 autocast": ["--precision", "fp32"],
    "channels-first memory format": ["--no-channels-last"],
    "batch 128 (lr 1.2e-2 kept)": ["--batch-size", "128"],
    "no label smoothing": ["--label-smoothing", "0"],
    "constant lr instead of one-cycle": ["--schedule", "constant", "--lr", "1e-3"],
    "course model mnist-2conv, same 2 epochs": ["--model", "mnist-2conv"],
}


def run(extra: list[str]) -> tuple[float, float]:
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "cnnlab", "train", "mnist", "--recipe", "fast", "--quiet",
                           "--runs-dir", "runs/ablation", *extra], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if done.returncode:
        raise SystemExit(f"{extra}: exited with {done.returncode}\n{done.stderr[-2000:]}")
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)
    return wall, float(lines["test_acc"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    results = {name: [] for name in VARIANTS}
    for _ in range(args.repeats):
        for name, extra in VARIANTS.items():
            results[name].append(run(extra))
    base = statistics.median(w for w, _ in results["fast recipe"])
    print("| variant | wall s min / median | × recipe | test acc (median) |\n|---|---|---|---|")
    for name, rows in results.items():
        walls = [w for w, _ in rows]
        print(f"| {name} | {min(walls):.1f} / {statistics.median(walls):.1f} | "
              f"{statistics.median(walls) / base:.2f}× | {statistics.median(a for _, a in rows):.4f} |")


if __name__ == "__main__":
    main()
