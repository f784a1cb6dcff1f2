"""Training jobs started from the page: one at a time, in a background thread, written to the runs directory
like `cnnlab train` runs, with their progress kept as a list of events the page reads (polling or SSE)."""
from __future__ import annotations

import dataclasses
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from cnnlab.training.callbacks import Callback

MAX_EPOCHS = 100
MAX_EVENTS = 20_000  # per job; older step events are dropped first beyond this
FIELDS = {"data": str, "model": str, "epochs": int, "limit": int, "batch_size": int, "lr": float,
          "optimizer": str, "augment": str, "seed": int, "val_split": float}  # what the page may set
RUNNING = ("queued", "running")


class JobError(ValueError):
    """A job request that cannot be served; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


class JobCancelled(Exception):
    """Raised from a job's callback to stop the training loop."""


def _plain(value):
    """Progress info → JSON-able values (reports become their headline metrics)."""
    if hasattr(value, "accuracy") and hasattr(value, "loss"):
        return {"loss": value.loss, "acc": value.accuracy}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value != value:  # NaN is not JSON
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


@dataclass
class Job:
    """One training job and what it has reported so far."""

    id: str
    request: dict
    state: str = "queued"  # queued | running | finished | failed | cancelled
    events: list[dict] = field(default_factory=list)
    run_dir: str | None = None
    error: str | None = None
    created: float = field(default_factory=time.time)
    ended: float | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    dropped: int = 0  # events dropped from the front (sequence numbers stay stable)

    def to_dict(self, since: int | None = None) -> dict:
        out = {"id": self.id, "request": self.request, "state": self.state, "run_dir": self.run_dir,
               "run": Path(self.run_dir).name if self.run_dir else None, "error": self.error,
               "created": self.created, "ended": self.ended, "next": self.dropped + len(self.events)}
        if since is not None:
            out["events"] = self.events_since(since)
        return out

    def events_since(self, since: int) -> list[dict]:
        return self.events[max(0, since - self.dropped):]


class JobManager:
    """Starts training jobs one at a time and keeps their events."""

    def __init__(self, runs_dir: str | Path, data_dir: str | None = None,
                 allowed_data: Callable[[], dict[str, str | None]] = dict, train_fn=None):
        self.runs_dir = Path(runs_dir)
        self.data_dir = data_dir
        self.allowed_data = allowed_data
        self.train_fn = train_fn
        self.jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def local_datasets(self) -> list[str]:
        """The named data sets already on this machine (the page never starts a download)."""
        from cnnlab.data import DataError
        from cnnlab.data.named import NAMED, locate

        found = []
        for name in NAMED:
            try:
                locate(name, self.data_dir, download=False)
                found.append(name)
            except (DataError, OSError):
                pass
        return found

    # ── requests ──────────────────────────────────────────────────────────────────────────────────────────
    def config(self, request: dict):
        """The TrainConfig a request asks for, checked: known fields, local data, a known model."""
        from cnnlab.training.config import TrainConfig
        from cnnlab.data import DataError
        from cnnlab.data.named import NAMED, locate
        from cnnlab.models import MODELS

        if not isinstance(request, dict):
            raise JobError("the request body must be a JSON object such as {\"data\": \"mnist-mini\", \"epochs\": 1}")
        unknown = sorted(set(request) - set(FIELDS))
        if unknown:
            raise JobError(f"unknown field(s) {', '.join(unknown)}; allowed: {', '.join(FIELDS)}")
        values = {}
        for key, kind in FIELDS.items():
            value = request.get(key)
            if value is None or value == "":
                continue
            try:
                if isinstance(value, (bool, list, dict)):
                    raise TypeError
                values[key] = kind(value)
            except (TypeError, ValueError):
                raise JobError(f"{key}: expected {'text' if kind is str else 'a number'}, got {value!r}") from None
        data = values.setdefault("data", "mnist-mini")
        allowed = self.allowed_data()  # data of listed runs → the data_dir they were trained with
        data_dir = self.data_dir or allowed.get(data)
        if data in NAMED:
            try:
                locate(data, data_dir, download=False)
            except DataError as exc:
                raise JobError(f"data {data!r} is not on this machine ({exc}); fetch it first with "
                               f"`cnnlab data {data}`") from None
        elif data not in allowed:
            raise JobError(f"data {data!r}: the page may train on the named data sets "
                           f"({', '.join(NAMED)}) or the data of a listed run ({', '.join(sorted(allowed)) or 'none'})")
        model = values.setdefault("model", "cnn")
        if model not in MODELS:
            raise JobError(f"model {model!r} is not one of {', '.join(MODELS)}")
        values.setdefault("epochs", 2)
        if not 1 <= values["epochs"] <= MAX_EPOCHS:
            raise JobError(f"epochs must be 1..{MAX_EPOCHS}, got {values['epochs']}")
        if "limit" in values and values["limit"] < 10:
            raise JobError(f"limit must be at least 10 images, got {values['limit']}")
        try:
            return TrainConfig(**values, data_dir=data_dir, runs_dir=str(self.runs_dir))
        except ValueError as exc:
            raise JobError(str(exc)) from None

    def start(self, request: dict) -> Job:
        """Check the request and start training in a background thread; JobError 409 while another job runs."""
        cfg = self.config(request)
        with self._lock:
            busy = [j for j in self.jobs.values() if j.state in RUNNING]
            if busy:
                raise JobError(f"job {busy[0].id} is still training (one job at a time); cancel it or wait", 409)
            job = Job(uuid.uuid4().hex[:12], {k: v for k, v in dataclasses.asdict(cfg).items()
                                                if k in FIELDS})
            self.jobs[job.id] = job
        threading.Thread(target=self._run, args=(job, cfg), name=f"cnnlab-job-{job.id}", daemon=True).start()
        return job

    def get(self, job_id: str) -> Job:
        job = self.jobs.get(job_id)
        if job is None:
            raise JobError(f"no job {job_id!r}", 404)
        return job

    def cancel(self, job_id: str) -> Job:
        """Ask the job to stop at its next progress report (within about ten training steps)."""
        job = self.get(job_id)
        if job.state in RUNNING:
            job.cancel.set()
            self._add(job, "cancelling", {})
        return job

    def running(self) -> Job | None:
        return next((j for j in self.jobs.values() if j.state in RUNNING), None)

    # ── the thread ────────────────────────────────────────────────────────────────────────────────────────
    def _add(self, job: Job, event: str, info: dict) -> None:
        item = {"seq": job.dropped + len(job.events), "event": event, "time": round(time.time(), 3),
                **json.loads(json.dumps(_plain(info)))}
        with self._lock:
            job.events.append(item)
            if len(job.events) > MAX_EVENTS:
                steps = [i for i, e in enumerate(job.events) if e["event"] == "step"]
                drop = steps[0] if steps else 0
                del job.events[drop]
                if drop == 0:
                    job.dropped += 1

    def _run(self, job: Job, cfg) -> None:
        train = self.train_fn
        if train is None:
            from cnnlab.training.pipeline import train

        job.state = "running"
        self._add(job, "accepted", {"config": job.request})
        try:
            result = train(cfg, JobEvents(self, job))
            job.run_dir = str(result.run_dir)
            job.state = "finished"
        except JobCancelled:
            job.state = "cancelled"
        except Exception as exc:  # the page shows why; the server keeps serving
            job.state, job.error = "failed", f"{type(exc).__name__}: {exc}"
        job.ended = time.time()
        self._add(job, job.state, {"error": job.error} if job.error else {})


class JobEvents(Callback):
    """The training loop's progress as a job's events (the page's live view), and the job's cancel button."""

    def __init__(self, manager: JobManager, job: Job):
        self.manager, self.job = manager, job

    def _add(self, event: str, info: dict) -> None:
        if self.job.cancel.is_set():  # stops the loop at its next progress report
            raise JobCancelled()
        self.manager._add(self.job, event, info)

    def on_run_begin(self, info):
        self.job.run_dir = info.run_dir
        self._add("data", info.to_dict())

    def on_train_begin(self, state):
        from cnnlab.models import count_parameters

        self._add("start", {"device": str(state.device), "precision": state.precision,
                            "steps_per_epoch": state.steps_per_epoch, "params": count_parameters(state.model),
                            "first_epoch": state.epoch + 1, "epochs": state.epochs})

    def on_epoch_begin(self, state):
        self._add("epoch_start", {"epoch": state.epoch, "epochs": state.epochs, "steps": state.steps_in(state.epoch)})

    def on_batch_end(self, state, logs):
        self._add("step", logs.to_dict())

    def on_epoch_end(self, state, metrics):
        self._add("epoch_end", {**metrics, "best_epoch": state.best_epoch, "improved": state.improved})

    def on_train_end(self, state):
        if state.stop_reason:
            self._add("early_stop", {"epoch": state.epoch, "reason": state.stop_reason})

    def on_run_end(self, result):
        self._add("end", {"run_dir": str(result.run_dir), "reports": result.reports,
                          "best_epoch": result.fit.best_epoch, "best_value": result.fit.best_value,
                          "monitor": result.fit.monitor, "seconds": result.seconds})
