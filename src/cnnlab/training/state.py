"""Everything a training run changes as it goes, in one object: what a checkpoint saves and a resume restores.

The model, its optimizer, learning-rate schedule, fp16 gradient scaler and weight average; the random generators
of the shuffling and the augmentation; where the run is (epoch, step), its history and its best epoch so far.
"""
from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass, field

import torch
from torch import nn

from cnnlab.training.config import TrainConfig
from cnnlab.training.distributed import SINGLE, World
from cnnlab.training.ema import EMA
from cnnlab.training.freeze import FineTune, unfreeze
from cnnlab.training.optim import advance, build_optimizer, build_scheduler, learning_rate, rebuild_scheduler

HIGHER_IS_BETTER = ("val_acc", "val_balanced_acc")  # monitors whose best value is the highest
AUGMENT_SEED_OFFSET = 1_000_003  # the augmentation's generator: its own stream, not a copy of the shuffling's


def wrap(model: nn.Module, world: World, device: torch.device) -> nn.Module:
    """What the forward pass goes through: the model, or under torchrun a DistributedDataParallel wrapper that
    averages the gradients of the parameters that require them when it is built (torch registers only those)."""
    if not world.distributed:
        return model
    from torch.nn.parallel import DistributedDataParallel  # here: it pulls in much of torch.distributed

    return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)


def cpu_copy(module: nn.Module) -> dict:
    """A module's state dict as detached CPU tensors."""
    return {k: v.detach().cpu() for k, v in module.state_dict().items()}


@dataclass
class TrainState:
    """A run's mutable state.  `model` is what is trained; `scored` (its EMA twin with cfg.ema) is evaluated and
    saved; `net` is what the forward pass goes through (a DDP wrapper under torchrun)."""

    model: nn.Module
    net: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    scaler: torch.amp.GradScaler  # enabled for fp16 only: scales the loss so small gradients do not flush to 0
    ema: EMA | None
    gen: torch.Generator  # the epoch order (shared by every rank)
    augment_gen: torch.Generator  # the augmentation's random parameters (per rank)
    monitor: str  # what picks the best epoch: val_acc or val_balanced_acc (higher is better), or val_loss
    min_delta: float = 0.0
    epochs: int = 1  # planned
    steps_per_epoch: int = 1
    epoch_steps: int | None = None  # a time budget's cut: the last planned epoch ends after that many steps
    device: torch.device = torch.device("cpu")
    dtype: torch.dtype | None = None  # the autocast dtype; None: fp32
    epoch: int = 0  # the epoch being trained; between epochs, the last one finished
    step: int = 0  # optimizer steps taken since the start of the run
    history: list[dict] = field(default_factory=list)  # one row per finished epoch
    best_epoch: int = 0
    best_value: float | None = None
    since_best: int = 0  # epochs since the best one
    best_weights: dict | None = None  # a copy of the scored weights of the best epoch (this process's)
    stop_training: bool = False  # set by a callback to stop after this epoch
    stop_reason: str | None = None
    finetune: FineTune | None = None  # --freeze-epochs: the two phases
    cfg: TrainConfig | None = None  # to build the unfrozen phase's schedule
    world: World = SINGLE
    notes: list[str] = field(default_factory=list)  # what the loop decided as it went (a time budget's plans)

    @classmethod
    def create(cls, model: nn.Module, cfg: TrainConfig, steps_per_epoch: int, device: torch.device,
               dtype: torch.dtype | None, world: World, monitor: str) -> TrainState:
        """A fresh state: the model moved to `device`, the optimizer and schedule of cfg, seeded generators."""
        model.to(device, memory_format=torch.channels_last if cfg.channels_last else torch.contiguous_format)
        finetune = FineTune.create(model, cfg.freeze_epochs, learning_rate(cfg)) if cfg.freeze_epochs else None
        if finetune is not None:  # before DDP is built: it then syncs the head's gradients alone
            finetune.freeze(model)
        optimizer = build_optimizer(cfg, model, finetune.param_groups() if finetune else None)
        scheduler = (finetune.scheduler(cfg, optimizer, steps_per_epoch, frozen=True) if finetune
                     else build_scheduler(cfg, optimizer, steps_per_epoch))
        return cls(model=model, net=wrap(model, world, device), optimizer=optimizer, scheduler=scheduler,
                   scaler=torch.amp.GradScaler(device.type, enabled=dtype == torch.float16),
                   ema=EMA(model, cfg.ema) if cfg.ema else None,
                   gen=torch.Generator().manual_seed(cfg.seed),
                   augment_gen=torch.Generator().manual_seed(cfg.seed + AUGMENT_SEED_OFFSET + world.rank),
                   monitor=monitor, min_delta=cfg.min_delta, epochs=cfg.epochs, steps_per_epoch=steps_per_epoch,
                   device=device, dtype=dtype, finetune=finetune, cfg=cfg, world=world)

    @property
    def scored(self) -> nn.Module:
        """The weights that are evaluated and saved: the moving average with cfg.ema, else the model."""
        return self.ema.model if self.ema is not None else self.model

    @property
    def improved(self) -> bool:
        """True when the epoch just finished is the best so far."""
        return bool(self.history) and self.best_epoch == self.history[-1]["epoch"]

    @property
    def precision(self) -> str:
        return str(self.dtype or "fp32").replace("torch.", "")

    def begin_epoch(self, epoch: int) -> None:
        """Set the epoch and put the model in training mode; with --freeze-epochs, unfreeze at the first epoch
        after the frozen ones."""
        self.epoch = epoch
        if self.finetune is None:
            self.model.train()
            return
        if epoch == self.finetune.freeze_epochs + 1:
            self.unfreeze()
        self.finetune.train_mode(self.model, epoch)

    def unfreeze(self) -> None:
        """Start fine_tune's second phase: every parameter learns, at the discriminative rates, on a fresh schedule
        over the remaining epochs; under torchrun DDP is rebuilt so that it syncs the body's gradients too."""
        unfreeze(self.model)
        self.scheduler = self.finetune.scheduler(self.cfg, self.optimizer, self.steps_per_epoch, frozen=False)
        self.net = wrap(self.model, self.world, self.device)

    def steps_in(self, epoch: int) -> int:
        """The optimisation steps `epoch` trains: steps_per_epoch, or a time budget's cut of the last epoch."""
        return self.epoch_steps if self.epoch_steps and epoch == self.epochs else self.steps_per_epoch

    def plan_epochs(self, epochs: int, cut_steps: int | None = None) -> None:
        """Train `epochs` epochs in all (a time budget's plan): cfg.epochs set to it and the current phase's
        schedule rebuilt for it, advanced to the current step, so that the rates from here on are those of a run
        planned with `epochs` from its start.  `cut_steps`: the last epoch cut to that many steps (what is left
        of the budget after the whole ones; no --freeze-epochs), the schedule ending with its last step."""
        self.epochs, self.epoch_steps = epochs, cut_steps
        self.cfg = dataclasses.replace(self.cfg, epochs=epochs)
        if self.finetune is None:
            self.scheduler = rebuild_scheduler(self.cfg, self.optimizer, self.steps_per_epoch, self.step, cut_steps)
        elif self.epoch > self.finetune.freeze_epochs:  # the frozen phase's schedule does not depend on the total
            self.scheduler = advance(self.finetune.scheduler(self.cfg, self.optimizer, self.steps_per_epoch, False),
                                     self.step - self.finetune.freeze_epochs * self.steps_per_epoch)

    def step_schedule(self) -> None:
        """Advance the learning-rate schedule by one batch, also after a step the fp16 scaler skipped (its
        gradients overflowed), so that the schedule keeps its planned length; torch's warning about a schedule
        stepped before the optimizer would blame the user for that skip, so it is silenced here alone."""
        if not self.scaler.is_enabled():
            self.scheduler.step()
            return
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", r"Detected call of `lr_scheduler.step\(\)` before", UserWarning)
            self.scheduler.step()

    def record(self, row: dict) -> None:
        """Add an epoch's history row and update the best epoch (with no monitored value, every epoch is the best)."""
        self.history.append(row)
        value = row.get(self.monitor)
        if value is None or self.best_value is None or (
                value > self.best_value + self.min_delta if self.monitor in HIGHER_IS_BETTER
                else value < self.best_value - self.min_delta):
            self.best_epoch, self.best_value, self.since_best = row["epoch"], value, 0
            self.best_weights = {k: v.detach().clone() for k, v in self.scored.state_dict().items()}
        else:
            self.since_best += 1

    def state_dict(self) -> dict:
        """The checkpoint's training half: weights, optimizer, schedule, scaler, RNGs, epoch, history, best."""
        state = {"model_state": cpu_copy(self.scored), "epoch": self.epoch, "step": self.step,
                 "epoch_steps": self.epoch_steps, "history": self.history,
                 "best": {"monitor": self.monitor, "value": self.best_value, "epoch": self.best_epoch,
                          "since": self.since_best},
                 "optimizer_state": self.optimizer.state_dict(), "scheduler_state": self.scheduler.state_dict(),
                 "scaler_state": self.scaler.state_dict(),  # {} unless fp16
                 "rng": {"torch": torch.get_rng_state(), "shuffle": self.gen.get_state(),
                         "augment": self.augment_gen.get_state()}}
        if self.ema is not None:  # model_state holds the average; resuming needs the raw weights too
            state.update(train_state=cpu_copy(self.model), ema_steps=self.ema.steps)
        return state

    def load_state_dict(self, state: dict) -> None:
        """Continue from a checkpoint written by state_dict() (or by an older cnnlab, which had no scaler state)."""
        self.model.load_state_dict(state.get("train_state") or state["model_state"])
        if self.finetune is not None and state["epoch"] > self.finetune.freeze_epochs:
            self.unfreeze()  # the unfrozen phase's schedule, which the saved states below continue
        if self.ema is not None:
            self.ema.load_state_dict(state["model_state"], state["ema_steps"])
        # a time budget's cut of the last epoch, when the run goes on to the epochs it planned (--resume --epochs N
        # with a step or constant schedule may train more: whole ones)
        same = state.get("config", {}).get("epochs", self.epochs) == self.epochs
        self.epoch_steps = state.get("epoch_steps") if same else None
        if self.epoch_steps and self.finetune is None:  # a schedule's length is not all in its state (a LambdaLR's
            # rule is code): built for the cut before the optimizer's state restores the rates it had
            self.scheduler = build_scheduler(self.cfg, self.optimizer, self.steps_per_epoch,
                                             last_steps=self.epoch_steps)
        self.optimizer.load_state_dict(state["optimizer_state"])
        self.scheduler.load_state_dict(state["scheduler_state"])
        if state.get("scaler_state"):  # empty when the run did not train in fp16
            self.scaler.load_state_dict(state["scaler_state"])
        torch.set_rng_state(state["rng"]["torch"])
        self.gen.set_state(state["rng"]["shuffle"])
        if "augment" in state["rng"]:
            self.augment_gen.set_state(state["rng"]["augment"])
        self.history = list(state["history"])
        self.epoch = state["epoch"]
        self.step = state.get("step", self.epoch * self.steps_per_epoch)
        best = state["best"]
        self.best_epoch, self.best_value, self.since_best = best["epoch"], best["value"], best.get("since", 0)
