"""`cnnlab serve`: the web lab (draw, upload, look inside, convolution playground, runs and training) on
http://127.0.0.1:8000, over the runs given or found under --runs-dir."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from cnnlab.serve.app import create_app
    except ImportError as exc:
        raise ValueError(f"cnnlab serve needs the web extras ({exc.name} is missing): "
                         f"pip install 'cnnlab[serve]'") from None

    for run in args.runs:
        if not Path(run).exists():
            raise ValueError(f"{run}: no such run directory or checkpoint")
    app = create_app(args.runs_dir, args.runs, allow_train=args.allow_train, data_dir=args.data_dir,
                     max_upload=int(args.max_upload_mb * 1024 * 1024), warm=True,
                     threads=args.threads)
    count = len(app.state.registry.entries)
    where = f"{count} run(s) from {args.runs_dir}" + (" and the command line" if args.runs else "")
    if count == 0:
        where += f"; train one with `cnnlab train mnist-mini --runs-dir {args.runs_dir}`"
    print(f"cnnlab web lab on http://{args.host}:{args.port}/  ({where})", flush=True)
    print(f"API docs: http://{args.host}:{args.port}/docs   training from the page: "
          f"{'on' if args.allow_train else 'off (--allow-train)'}", flush=True)
    if args.host not in LOCAL_HOSTS:
        print(f"warning: listening on {args.host}: anyone who can reach this machine can use the lab"
              + (" and start training jobs" if args.allow_train else ""), file=sys.stderr, flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0


def register(sub) -> None:
    p = sub.add_parser("serve", help="the web lab: draw, upload, look inside, playground, runs, training",
                       description="Serve the web lab for RUN directories (and every run under --runs-dir) on a "
                                   "local address.  Open the printed URL in a browser; /docs lists the JSON API.")
    p.add_argument("runs", nargs="*", metavar="RUN", help="run directories or checkpoints (.pt) to show")
    p.add_argument("--runs-dir", default="runs", help="where runs are found, and where page-started training "
                                                      "writes [runs]")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on [127.0.0.1: this machine only]")
    p.add_argument("--port", type=int, default=8000, help="[8000]")
    p.add_argument("--allow-train", action="store_true", help="let the page start training jobs (one at a time)")
    p.add_argument("--data-dir", help="where named data sets are looked for (else $CNNLAB_DATA)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads per request [1: fastest for one image "
                                                          "on a busy CPU]")
    p.add_argument("--max-upload-mb", type=float, default=10, help="largest upload accepted, in MB [10]")
    p.add_argument("--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"],
                   help="uvicorn's log level [warning]")
    p.set_defaults(func=cmd_serve)
