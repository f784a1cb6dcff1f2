"""What each technique of a fast recipe is worth: the recipe with one thing changed at a time.

Every variant runs as a fresh `cnnlab train DATA --recipe fast ...` process, `--repeats` times, the variants
taken in turn (A, B, C, A, B, C ...) so that a busy spell of the machine falls on all of them alike.  Variants
that change only the scoring (another test-time augmentation) train nothing: `cnnlab evaluate` scores the same
repeat's recipe run with them.
Prints a markdown table: wall seconds min / median, ratio to the recipe, final accuracy (test split, else the
validation split: CIFAR-10's stratified 10% of train/).

    CNNLAB_DATA=../shared/data .venv/bin/python bench/ablation.py [--task mnist|cifar10] [--repeats 2]
        [--only NAME ...] [--threads N]
"""
import argparse
import statistics
import subprocess
import sys
import time

from cnnlab.bench.tasks import cpu_bf16
from cnnlab.training.device import cpu_bf16_pays

FP32, BF16 = ["--precision", "fp32"], ["--precision", "bf16"]
MNIST = {
    "fast recipe": [],
    "fp32 instead of bf16 autocast": FP32,
    "channels-first memory format": ["--no-channels-last"],
    "batch 128 (lr 1.2e-2 kept)": ["--batch-size", "128"],
    "no label smoothing": ["--label-smoothing", "0"],
    "constant lr instead of one-cycle": ["--schedule", "constant", "--lr", "1e-3"],
    "course model mnist-2conv, same 2 epochs": ["--model", "mnist-2conv"],
}
# the fast colour recipe (whitenet-m, cnnlab.training.recipes) with one of its techniques undone, or an EMA added
CIFAR10 = {
    "fast recipe": [],
    "flip TTA instead of multicrop": ["--tta", "flip"],  # scored from the recipe's runs (SCORING_ONLY)
    "no TTA": ["--tta", "none"],
    "no label smoothing (0.2)": ["--label-smoothing", "0"],
    "with an EMA of the weights (0.99 per step)": ["--ema", "0.99"],
    "plain batch norm (learned scale, momentum 0.1) and conv init": ["--model", "whitenet-m-plain"],
    "learned 2×2 first layer instead of whitening": ["--model", "whitenet-m-learned"],
    "fp32 instead of bf16 autocast": FP32,
    "resnet20, same epochs and schedule": ["--model", "resnet20"],
}
SCORING_ONLY = {"flip TTA instead of multicrop", "no TTA"}  # `cnnlab evaluate RUN --tta ...` on the recipe's run
TASKS = {"mnist": ("mnist", MNIST), "cifar10": ("cifar10-jpg", CIFAR10)}


def register_variants() -> None:
    """The ablation's model variants: whitenet-m with one of its techniques undone (registered here, not in cnnlab)."""
    from torch import nn

    from cnnlab.models import register
    from cnnlab.models import whitenet as w

    def plain(input_shape, num_classes):  # BN learns its scale too, torch's momentum and eps; default conv init
        model = w.whitenet_model(input_shape, num_classes, (48, 192, 192))
        for m in model.modules():
            if isinstance(m, w.ShiftBatchNorm):
                m.momentum, m.eps = 0.1, 1e-5
                m.weight.requires_grad_(True)
                del m.bias.lr_scale
            elif isinstance(m, w.DiracConv):
                nn.Conv2d.reset_parameters(m)
        return model

    def learned(input_shape, num_classes):  # the 2×2 first layer is trained from a random start
        model = w.whitenet_model(input_shape, num_classes, (48, 192, 192))
        first = nn.Conv2d(input_shape[0], model[0].out_channels, 2)
        model[0] = first
        return model

    register("whitenet-m-plain", "ablation: plain batch norm and conv init")(plain)
    register("whitenet-m-learned", "ablation: learned first layer")(learned)


def cnnlab_process(argv: list[str]) -> tuple[float, dict[str, str]]:
    """One `cnnlab ARGV...` process with the variants registered: (wall seconds, its `key value` output lines; the
    last of each key).  Exits with the process's stderr when it fails."""
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, "--cnnlab", *argv], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if done.returncode:
        raise SystemExit(f"{' '.join(argv)}: exited with {done.returncode}\n{done.stderr[-2000:]}")
    return wall, dict(line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)


def run(data: str, extra: list[str]) -> tuple[float, float, str]:
    """One `cnnlab train` process: (wall seconds, final accuracy, run directory)."""
    wall, lines = cnnlab_process(["train", data, "--recipe", "fast", "--quiet", "--runs-dir", "runs/ablation", *extra])
    return wall, float(lines.get("test_acc") or lines["val_acc"]), lines["run_dir"]


def rescore(run_dir: str, extra: list[str]) -> tuple[float, float]:
    """`cnnlab evaluate RUN_DIR` with other scoring options: (wall seconds of the scoring, accuracy)."""
    wall, lines = cnnlab_process(["evaluate", run_dir, *extra])
    return wall, float(lines.get("test_acc") or lines["val_acc"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=sorted(TASKS), default="mnist")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--only", nargs="+", metavar="VARIANT", help="these variants (and the recipe) only")
    parser.add_argument("--threads", type=int, help="torch threads per run (passed to cnnlab train)")
    args = parser.parse_args()
    data, variants = TASKS[args.task]
    variants = {k: v for k, v in variants.items() if not args.only or k == "fast recipe" or k in args.only}
    if not cpu_bf16_pays():  # the recipe already trains in fp32 here (--precision auto): try bf16 instead
        variants = {("bf16 autocast instead of fp32" if extra == FP32 else name): (BF16 if extra == FP32 else extra)
                    for name, extra in variants.items()}
    threads = ["--threads", str(args.threads)] if args.threads else []
    results = {name: [] for name in variants}
    for _ in range(args.repeats):
        recipe_run = None
        for name, extra in variants.items():
            if name in SCORING_ONLY:
                continue
            wall, accuracy, run_dir = run(data, extra + threads)
            results[name].append((wall, accuracy))
            recipe_run = run_dir if name == "fast recipe" else recipe_run
        for name in SCORING_ONLY & set(variants):
            results[name].append(rescore(recipe_run, variants[name]))
    base = statistics.median(w for w, _ in results["fast recipe"])
    print(f"{data}; the CPU's bf16: {cpu_bf16()}\n")
    print("| variant | wall s min / median | × recipe | acc (median) |\n|---|---|---|---|")
    for name, rows in results.items():
        walls = [w for w, _ in rows]
        wall = (f"{min(walls):.1f} / {statistics.median(walls):.1f} | {statistics.median(walls) / base:.2f}×"
                if name not in SCORING_ONLY else f"the recipe's runs, scored again in {statistics.median(walls):.1f} | –")
        print(f"| {name} | {wall} | {statistics.median(a for _, a in rows):.4f} |")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--cnnlab"]:  # one variant's run: cnnlab's own command, with the variants registered
        register_variants()
        from cnnlab.cli import main as cnnlab_main

        sys.exit(cnnlab_main(sys.argv[2:]))
    main()
