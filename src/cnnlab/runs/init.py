"""Start a model from existing weights: `--init-from RUN|FILE.pt` (any cnnlab run, checkpoint or state_dict:
every tensor whose name and shape match) and `--pretrained` (a backbone's published ImageNet weights).
Separate from `--resume`, which continues one run with its optimizer and epoch."""
from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from cnnlab.data.preprocess import Preprocess
from cnnlab.runs.checkpoint import FORMAT, CheckpointError
from cnnlab.runs.rundir import resolve_checkpoint


@dataclass
class InitReport:
    """What init_from did, counted in state_dict tensors (parameters and buffers such as BatchNorm statistics)."""

    source: str
    loaded: int = 0
    shape_mismatch: list[str] = field(default_factory=list)  # in both, but of another shape: skipped
    not_in_model: list[str] = field(default_factory=list)  # in the source only: skipped
    fresh: list[str] = field(default_factory=list)  # the model's tensors left as initialised (head included)
    head: list[str] = field(default_factory=list)  # the classifier head, always newly initialised

    def __str__(self) -> str:
        skipped = len(self.shape_mismatch) + len(self.not_in_model)
        head = f", head {', '.join(self.head)}" if self.head else ""
        return (f"init from {self.source}: {self.loaded} tensors loaded, {skipped} skipped "
                f"({len(self.shape_mismatch)} shape mismatch, {len(self.not_in_model)} not in the model), "
                f"{len(self.fresh)} newly initialised{head}")


def head_keys(model: nn.Module, num_classes: int | None = None) -> list[str]:
    """state_dict keys of the classifier head: the last Linear or Conv module (with num_classes outputs when
    given) in definition order."""
    last = None
    for name, module in model.named_modules():
        if isinstance(module, (nn.Linear, nn.Conv1d, nn.Conv2d)) and (
                num_classes is None or module.weight.shape[0] == num_classes):
            last = name
    if last is None:
        return []
    return [f"{last}.{k}" if last else k for k in model.get_submodule(last).state_dict()]


def read_state(source: str | Path) -> tuple[dict[str, torch.Tensor], list[str] | None]:
    """(state_dict, class names or None) of a run directory, a cnnlab checkpoint or a plain state_dict file, read
    with weights_only (no code is unpickled).  CheckpointError naming the file when it is neither."""
    path = resolve_checkpoint(source)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such run directory or weight file")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError) as exc:
        raise CheckpointError(f"{path}: not a readable weight file with tensors only "
                              f"({str(exc).splitlines()[0]})") from None
    if isinstance(state, dict) and state.get("format") == FORMAT:  # a cnnlab checkpoint: weights and classes
        if not isinstance(state.get("model_state"), dict):
            raise CheckpointError(f"{path}: a cnnlab checkpoint without model_state")
        return state["model_state"], list(state.get("classes") or []) or None
    if isinstance(state, dict) and state and all(isinstance(v, torch.Tensor) for v in state.values()):
        return state, None
    raise CheckpointError(f"{path}: neither a cnnlab checkpoint nor a state_dict (name → tensor)")


def init_from(model: nn.Module, source: str | Path, classes: list[str] | None = None) -> InitReport:
    """Copy into `model` every tensor of `source` (run dir, checkpoint or state_dict file) whose name and shape
    match, except the classifier head, which stays newly initialised unless the source was trained on exactly
    `classes` (same names, same order).  Returns the counts; the model is changed in place."""
    state, source_classes = read_state(source)
    own = model.state_dict()
    head = head_keys(model, len(classes) if classes else None)
    keep_head = classes is not None and source_classes == list(classes)
    report = InitReport(str(source), head=[] if keep_head else head)
    update = {}
    for key, tensor in state.items():
        if key not in own:
            report.not_in_model.append(key)
        elif tensor.shape != own[key].shape:
            report.shape_mismatch.append(key)
        elif key not in report.head:
            update[key] = tensor
    model.load_state_dict(update, strict=False)
    report.loaded = len(update)
    report.fresh = [k for k in own if k not in update]
    return report


def start_weights(model: nn.Module, cfg, classes: list[str], preprocess: Preprocess, input_shape: tuple[int, ...],
                  progress=None) -> tuple[Preprocess, str | None]:
    """Apply cfg.pretrained / cfg.init_from to a freshly built model: (the preprocess to train with, one line
    saying what was loaded, or None when neither is set).  With --pretrained the inputs are normalised with the
    weights' ImageNet mean/std instead of the data's own statistics."""
    from cnnlab.runs.pretrained import load_pretrained, locate_weights, pretrained_spec

    if cfg.pretrained and cfg.init_from:
        raise ValueError("--pretrained and --init-from both set: choose one starting point")
    if cfg.init_from:
        return preprocess, str(init_from(model, cfg.init_from, classes))
    if not cfg.pretrained:
        return preprocess, None
    spec = pretrained_spec(cfg.model)
    path = locate_weights(cfg.model, cfg.pretrained_weights, progress=progress)
    fresh = load_pretrained(model, cfg.model, path)
    mean, std = spec.normalization(input_shape[0])
    preprocess = Preprocess("standardize", torch.tensor(mean)[:, None, None], torch.tensor(std)[:, None, None])
    gray = ", first conv summed over RGB for gray input" if input_shape[0] == 1 else ""
    return preprocess, (f"pretrained {path} (ImageNet weights{gray}); newly initialised: "
                        f"{', '.join(fresh) or 'nothing'}; normalise with ImageNet mean/std")
