"""`cnnlab bench TASK`: time-to-accuracy against a reference measured in the same run."""
from __future__ import annotations

import shlex
import sys
from pathlib import Path


def register(sub) -> None:
    from cnnlab.bench.tasks import TASKS

    p = sub.add_parser("bench", help="time-to-accuracy benchmark of a task against its reference, same run",
                       description="Runs each entry of TASK as a fresh process from start to final test accuracy, "
                                   "and writes bench/results/<task>.json and .md.")
    p.add_argument("task", choices=sorted(TASKS))
    p.add_argument("--repeats", type=int, default=1, help="runs per entry; min/median are reported [1]")
    p.add_argument("--only", nargs="+", metavar="ENTRY", help="run only these entries (e.g. fast slide)")
    p.add_argument("--smoke", action="store_true", help="a few hundred images, one epoch: checks the harness only")
    p.add_argument("--out", default="bench/results", help="results folder [bench/results]")
    p.add_argument("--runs-dir", default="runs/bench", help="where the benchmark's run directories go [runs/bench]")
    p.add_argument("--train-options", default="", metavar="'OPTIONS'",
                   help="extra `cnnlab train` options for every entry, e.g. '--threads 2'")
    p.set_defaults(func=cmd_bench)


def cmd_bench(args) -> int:
    from cnnlab.bench.tasks import markdown, run_task, save, summarize

    extra = shlex.split(args.train_options)
    results = run_task(args.task, args.repeats, args.smoke, extra, args.only, Path(args.runs_dir),
                       report=lambda msg: print(msg, file=sys.stderr, flush=True))
    json_path, md_path = save(results, Path(args.out))
    print(markdown(results))
    for row in summarize(results):
        if row["acc_mean"] is not None:
            print(f"test_acc {row['acc_mean']:.4f} {row['entry']}")
    print(f"results → {json_path}, {md_path}")
    return 0
