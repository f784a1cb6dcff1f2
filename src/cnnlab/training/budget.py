"""Wall-clock training budgets (`--time 3m`): the number of epochs, and with it the whole schedule, fitted so that
the run ends on time with the best model that time allows.

The budget counts from the start of the run (`cnnlab train`: the command's start, its imports included, ~2 s on a
2-core CPU; `train()` in Python: its call; `fit()` alone: its own start), so what reading the data took is already
spent.  The plans come from measured time, never from guesses about the hardware:

1. after PLAN_STEPS steps of the first epoch (its first step, which pays for one-off warm-up, left out), or
   after 2 or more once they have taken PLAN_SHARE of the budget (steps of several seconds each, e.g. batches of
   1,000 on a slow CPU, where 10 of them could take more than the budget): the step time × steps per epoch, plus
   validation estimated at a third of a training step per image (a forward pass without the backward), or at
   the scoring speed timed before training when it was (training/rebatch.py);
2. at the end of epoch 1 (and, with --freeze-epochs, of the first unfrozen epoch, whose steps cost more): the
   epoch as it was, validation scoring and checkpoint writing included;
3. at the end of epoch 2 when STEADY_PLAN epochs or more are planned: short epochs are where epoch 1's one-off
   costs (the first kernels of each shape, the first scoring and checkpoint) weigh most (mnist-2conv on 500
   images: epoch 1 0.77 s, the next ones 0.34 s; MNIST's fast recipe in 1m, 235 steps per epoch: 11.4 s, then
   7.4 s, and a plan of 5 epochs left 13 s of the minute unused), and epoch 2 ends by half the plan.

Each plan is a number of epochs (at least 1) and rebuilds the learning-rate schedule for it from the current step
(TrainState.plan_epochs), so the rates are those of a run planned with that length from the start.  What the whole
epochs leave of the budget goes to one more epoch cut to the steps that fit, when that is at least MIN_CUT of an
epoch's steps (a smaller piece would cost a validation scoring for little training); the schedule then ends with its
last step, annealed as in any other plan.  On a slow CPU or a large data set that is much of the budget: a 3-minute
budget that holds 1.9 epochs would otherwise leave 45% of it unused.  When the first plan (from epoch 1's first
steps, 1. above) finds that even one whole epoch would overrun the budget, it cuts epoch 1 itself, and the run
ends there; that epoch is not scored at its end (the final report scores its weights right after).  At half,
three quarters and nine tenths of a cut epoch's steps the cut is shortened when those steps ran slower than
planned, the final scoring timed again on a few validation images at the first (at half way also lengthened, by
half at most, when they ran faster: later the rates are falling, and a longer schedule would raise them again).
Without --freeze-epochs or progressive resizing, whose epochs must run whole (their schedules and sizes are set per
epoch).  A margin is kept for the final scoring (val and test in fp32, with and without TTA), estimated from the
validation time measured.  Should later epochs run slower than measured (a busy machine), the plan is shortened
at the end of the epoch where the epochs left, at the pace since the last plan, would overrun: a shorter schedule
from there anneals the rate to its end, where stopping would not.
Should they run faster than a plan made in a slow spell (another program had the CPU while epochs 1-2 were
measured), the plan grows again, but only in its first half, two epochs or more after the last plan and when the
pace since then would leave more than 1.25 epochs unused (past the first quarter, one-cycle's warm-up, by half its
steps at most): later the rates are falling towards the schedule's end, and a longer plan there would raise them
again.  Short epochs re-plan only once the pace spans WINDOW of the budget, so that their noise is averaged out.

With progressive resizing (training/resize.py) the epochs differ in cost: every measured epoch is converted to a
full-size one (its training seconds over its relative cost, `epoch_cost`; the validation scoring, at full size,
as it was), and a plan sums the epochs it would train at their own sizes.
"""
from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass, field
from typing import Callable

from cnnlab.training.costs import FINAL_NOISE, FORWARD_SHARE, FP32_COST, results_seconds, scoring_passes
from cnnlab.training.duration import format_duration, parse_duration

PLAN_STEPS = 10  # steps timed (after the first) before the first plan
PLAN_SHARE = 0.05  # ... or fewer (2 at least) when they take this share of the budget (slow steps: big batches, CPU)
STEADY_PLAN = 4  # epochs planned from which epoch 2 is measured again
SAFETY = 0.02  # share of the budget kept back for what was not measured (process exit, jitter)
MAX_LENGTHEN = 1.5  # the most a cut epoch revised at half way, or a plan past its first quarter, grows by
WINDOW = 0.05  # share of the budget the pace must span before a plan changes for it (near the end: `overdue`)
OVERRUN_SLACK = 0.01  # share of the budget a projected end may pass it by before the plan is shortened (< SAFETY)
MIN_CUT = 0.25  # the least share of an epoch's steps worth a cut last epoch (it costs a whole validation scoring)
REVISE_AT = (0.5, 0.75, 0.9)  # shares of a cut epoch's steps at which the cut is revised from its steps so far


def sync(device) -> None:
    """Wait for the device's queued work, so that a clock reading includes it (CUDA runs asynchronously)."""
    if getattr(device, "type", "cpu") == "cuda":
        import torch

        torch.cuda.synchronize(device)


@dataclass
class TimeBudget:
    """One run's budget and the timings its plans are made from; seconds from time.perf_counter()."""

    text: str  # as given, e.g. "3m"
    seconds: float  # the whole run's budget
    started: float  # perf_counter() at the start of the run
    steps_per_epoch: int
    batch_size: int
    scored_images: int  # images scored after each epoch (val, test with track_test), TTA passes counted
    final_images: int  # images the final reports score, TTA passes counted
    final_factor: float = 1.0  # the final fp32 scoring's cost per image over the per-epoch scoring's
    min_epochs: int = 1  # with --freeze-epochs, one unfrozen epoch at least
    max_epochs: int | None = None  # cfg.max_epochs: no plan goes beyond it
    replan_epochs: tuple[int, ...] = (1,)  # the epochs after which the plan is made again
    device: object = None
    epoch_start: float = 0.0
    first_step: float = 0.0  # when step 1 of the epoch ended
    scoring_seconds: float = 0.0  # the last epoch's validation scoring
    epoch_seconds: float = 0.0  # the last plan's estimate of one epoch
    final_seconds: float = 0.0  # the last plan's margin for the final scoring and results
    per_image: float = 0.0  # the last plan's scoring seconds per image
    planned_at: float = 0.0  # when the last plan's done epochs end(ed)
    planned_done: int = 0  # epochs done at the last plan
    planned: int = 0
    ends: float = 0.0  # the last plan's predicted end, seconds from the start
    cost: Callable[[int, int], float] | None = None  # (epoch, epochs) → its cost over a full-size epoch's
    costs: dict[int, float] = field(default_factory=dict)  # the cost each epoch trained at (epoch_begin records it)
    cut_steps: int | None = None  # the steps of the plan's last epoch when it is cut short, else None
    steps_planned: bool = False  # the first plan, from epoch 1's first steps, is made
    revised: bool = False  # the cut epoch's first revision is made (only it may lengthen the cut)
    score_per_image: float | None = None  # scoring seconds per image measured before training (rebatch's probe)
    begun: dict[int, float] = field(default_factory=dict)  # when each epoch began (epoch_begin)
    longest: int = 0  # the most steps of a plan that was shortened (after a slow spell it may grow back to it)
    grew_late: bool = False  # a plan grew past its first quarter (once only: the cap does not compound)
    classes: int = 0  # the run's classes (its results' plots take longer with more: costs.results_seconds)

    @classmethod
    def create(cls, cfg, started: float, steps_per_epoch: int, val_size: int, test_size: int, device,
               reduced_precision: bool, cost: Callable[[int, int], float] | None = None,
               classes: int = 0) -> TimeBudget:
        """The budget of cfg.time for a run that started at `started` and scores `val_size`/`test_size` images;
        `cost(epoch, epochs)`: an epoch's training cost relative to a full-size one (progressive resizing);
        `classes`: how many (the results' plots take longer with more)."""
        scored, final = scoring_passes(cfg.tta, cfg.track_test, val_size, test_size)
        unfrozen = cfg.freeze_epochs + 1  # the first epoch that trains every layer
        fp32_cost = FP32_COST if reduced_precision else 1.0
        return cls(cfg.time, parse_duration(cfg.time), started, steps_per_epoch, cfg.batch_size, scored, final,
                   fp32_cost, unfrozen, cfg.max_epochs, tuple(sorted({1, unfrozen})), device, cost=cost,
                   classes=classes)

    def epoch_begin(self, epoch: int, epochs: int) -> None:
        """Before `epoch` of a plan of `epochs`: records its cost (the size it trains at) and starts its clock."""
        self.costs[epoch] = self.cost(epoch, epochs) if self.cost is not None else 1.0
        sync(self.device)
        self.epoch_start = self.begun[epoch] = time.perf_counter()

    def plan_due(self, epoch: int, step: int, agree: Callable[[bool], bool] = bool) -> bool:
        """After a step: whether the first plan is made now: at step 1 + PLAN_STEPS of epoch 1, or from step 3 once
        the steps since step 1 took PLAN_SHARE of the budget; never at the epoch's last step (an epoch that short is
        planned at its end).  Records when step 1 ended.  `agree`: every rank's decision from one clock (under
        torchrun, rank 0's by broadcast), called at steps 3 to 1 + PLAN_STEPS only."""
        if epoch != 1 or step > PLAN_STEPS + 1 or self.steps_planned:
            return False
        if step == 1:
            sync(self.device)
            self.first_step = time.perf_counter()
        if step < 3 or step >= self.steps_per_epoch:
            return False
        timed = time.perf_counter() - self.first_step >= PLAN_SHARE * self.seconds
        self.steps_planned = agree(step == PLAN_STEPS + 1 or timed)
        return self.steps_planned

    def plan_from_steps(self, step: int) -> int:
        """The first plan, at `step` of epoch 1, from the time per step since step 1."""
        sync(self.device)
        now = time.perf_counter()
        per_step = (now - self.first_step) / max(1, step - 1)
        per_image = self.score_per_image or per_step / self.batch_size * FORWARD_SHARE
        self.epoch_seconds = per_step * self.steps_per_epoch / self.costs.get(1, 1.0) + per_image * self.scored_images
        rest = per_step * (self.steps_per_epoch - step) + per_image * self.scored_images  # of epoch 1
        planned = self._plan(now + rest, 1, per_image)
        if planned == 1:  # not even epoch 1 may fit
            self.cut_steps = self._cut(now, step, per_step)
        return planned

    def _steps(self, planned: int, cut_steps: int | None) -> int:
        """The optimisation steps of a plan of `planned` epochs, the last cut to `cut_steps` (None: whole)."""
        return (planned - 1) * self.steps_per_epoch + (cut_steps or self.steps_per_epoch)

    @property
    def whole(self) -> int:
        """The plan's whole epochs (a cut last one left out)."""
        return self.planned - (self.cut_steps is not None)

    @property
    def cuttable(self) -> bool:
        """Whether an epoch may be cut short: not with --freeze-epochs or progressive resizing."""
        return self.min_epochs == 1 and self.cost is None

    def _cut(self, now: float, step: int, per_step: float) -> int | None:
        """The steps of epoch 1 (at least `step`, those done) that end the run on time when the whole epoch would
        not, then the final margin (the run's only epoch is not scored at its end: `scores_epoch`): all of them
        when only its scoring overran; None when it fits, or must run whole (a frozen phase first, or progressive
        resizing).  Sets `ends` for the cut epoch."""
        if self.ends <= self.seconds or not self.cuttable or per_step <= 0:
            return None
        left = self.started + self.seconds - self.final_seconds - now  # the cut epoch is not scored (scores_epoch)
        steps = min(self.steps_per_epoch, step + max(0, math.floor(left / per_step)))
        self.ends = now - self.started + (steps - step) * per_step + self.final_seconds
        return steps

    def revise_due(self, epoch: int, step: int) -> bool:
        """After a step: whether the cut of this epoch (the plan's last, cut short) is revised now: at REVISE_AT of
        its steps, after the first plan's steps in epoch 1.  The same on every rank (from step numbers alone)."""
        if self.cut_steps is None or epoch != self.planned or (epoch == 1 and step <= PLAN_STEPS + 1):
            return False
        return any(step == math.floor(share * self.cut_steps) for share in REVISE_AT)

    def revise_cut(self, epoch: int, step: int, score_per_image: float | None = None) -> bool:
        """Revise the cut of this epoch, at `step`, to the steps that end the run on time at the pace of its steps
        so far (epoch 1: since its first step), then its validation scoring (none in a one-epoch plan: see
        `scores_epoch`) and the final margin, priced at `score_per_image` (seconds, timed just now in the training
        precision; None: as last planned): on a busy CPU one probe before training timed the scoring at 2.2× its
        cost (its cut epoch ended a minute early), another at 0.7× (a 1m run ended 3.5 s late), where the timing at
        half the epoch's steps came within 10%.  The first plan's 10 steps can be off by 10-30% (a cut epoch of
        batches of 250 overran a 3m budget by 5 s; one of batches of 500 ended 20 s early), the pace of half the
        epoch's steps less.  At least one more step, at most the whole epoch.  The first revision (at half the
        steps) may lengthen the cut, by half at most; later ones only shorten it: the rates fall towards the schedule's end, and a longer schedule raises
        them again (at half way, 1.5× the steps put a linear decay at 2/3 of its peak instead of 1/2, one-cycle's
        at 0.89 instead of 0.67).  Whether the cut changed."""
        if score_per_image is not None:  # timed in the run, on its validation images: nearer the final scoring
            self.per_image = score_per_image
            self.final_seconds = self._final(score_per_image)
        sync(self.device)
        now = time.perf_counter()
        start, done = (self.first_step, step - 1) if epoch == 1 and self.first_step else (self.epoch_start, step)
        per_step = (now - start) / max(1, done)
        scoring = self.epoch_scoring if self.scores_epoch(epoch) else 0.0
        left = self.started + self.seconds - self.final_seconds - scoring - now
        steps = step + max(1, math.floor(left / per_step)) if per_step > 0 else self.cut_steps
        steps = min(steps, self.steps_per_epoch, math.floor(MAX_LENGTHEN * self.cut_steps))
        first, self.revised = not self.revised, True
        if steps == self.cut_steps or (steps > self.cut_steps and not first):
            return False
        self.cut_steps = steps
        self.epoch_seconds = per_step * self.steps_per_epoch + self.epoch_scoring
        self.ends = now - self.started + (steps - step) * per_step + scoring + self.final_seconds
        return True

    def scores_epoch(self, epoch: int) -> bool:
        """Whether `epoch` is scored (val, and test with --track-test) at its end: not the cut epoch of a one-epoch
        plan, the run's only epoch: the final report scores its weights right after (with TTA, in fp32), and a
        validation scoring would pick nothing (on a 3m CIFAR-10 run on a 2-core CPU it took 11 s of 180)."""
        return not (epoch == 1 and self.planned == 1 and self.cut_steps is not None)

    def replan_due(self, epoch: int) -> bool:
        """After an epoch (scored and saved): whether the plan is made again now (not after a cut last epoch: the
        run ends there)."""
        ended = self.cut_steps is not None and epoch >= self.planned
        return not ended and (epoch in self.replan_epochs or (epoch == 2 and self.planned >= STEADY_PLAN))

    def plan_from_epoch(self, epoch: int) -> int:
        """A plan at the end of `epoch` (trained, scored, saved), from its measured length; the first epoch's
        first step, which includes one-off warm-up, counts as an ordinary one."""
        sync(self.device)
        now = time.perf_counter()
        seconds = now - self.epoch_start
        if epoch == 1 and self.first_step:
            warm_up = self.first_step - self.epoch_start
            train_steps = seconds - warm_up - self.scoring_seconds  # steps 2.. plus the checkpoint writing
            seconds -= max(0.0, warm_up - train_steps / max(1, self.steps_per_epoch - 1))
        self.epoch_seconds = (seconds - self.scoring_seconds) / self.costs.get(epoch, 1.0) + self.scoring_seconds
        per_image = self.scoring_seconds / self.scored_images if self.scored_images else \
            seconds / (self.steps_per_epoch * self.batch_size) * FORWARD_SHARE
        return self._plan(now, epoch, per_image)

    def _plan(self, free_at: float, done: int, per_image: float, at_most: int | None = None) -> int:
        """Epochs in all: `done` (ending at `free_at`) plus as many whole ones as fit before the final margin, and
        one cut to the steps that fit in what they leave (`cut_steps`; None when under MIN_CUT of an epoch)."""
        final = self._final(per_image)
        self.final_seconds, self.per_image, self.planned_at, self.planned_done = final, per_image, free_at, done
        left = self.started + self.seconds - final - free_at
        more = math.floor(left / self.epoch_seconds) if self.epoch_seconds > 0 else 0
        cap = min(at_most or 1 << 30, self.max_epochs or 1 << 30)
        if self.cost is not None and self.epoch_seconds > 0:  # the most epochs whose sizes' costs fit in `left`
            cheapest = self._seconds(1, 1, 2, self.epoch_seconds)  # epoch 1 of a ramp: the smallest images
            low, high = done, min(cap, done + math.floor(max(0.0, left) / cheapest) + 1)
            while low < high:  # a longer plan costs more: bisect
                mid = (low + high + 1) // 2
                low, high = (mid, high) if self._seconds(done + 1, mid, mid, self.epoch_seconds) <= left else \
                    (low, mid - 1)
            more = low - done
        self.planned = max(self.min_epochs, min(done + max(0, more), cap))
        self.cut_steps = None
        spare = left - self._seconds(done + 1, self.planned, self.planned, self.epoch_seconds)
        if self.cuttable and self.planned < cap and self.epoch_seconds > 0:  # what the whole epochs leave
            scoring = min(self.epoch_seconds, self.epoch_scoring)
            per_step = (self.epoch_seconds - scoring) / self.steps_per_epoch
            steps = math.floor((spare - scoring) / per_step) if per_step > 0 else 0
            if MIN_CUT * self.steps_per_epoch <= steps < self.steps_per_epoch:
                self.planned, self.cut_steps = self.planned + 1, steps
        self.ends = free_at + self._seconds(done + 1, self.planned, self.planned, self.epoch_seconds) + final - \
            self.started
        return self.planned

    def _final(self, per_image: float) -> float:
        """The margin kept for the final scoring at `per_image` seconds per image in the training precision,
        writing the results and the safety share."""
        return FINAL_NOISE * per_image * self.final_images * self.final_factor + results_seconds(self.classes) + \
            SAFETY * self.seconds

    @property
    def epoch_scoring(self) -> float:
        """The last plan's seconds of one epoch's validation scoring: at full size whatever the training size."""
        return self.per_image * self.scored_images

    def _seconds(self, first: int, last: int, epochs: int, full_epoch: float) -> float:
        """Seconds of epochs first..last of a plan of `epochs` whose full-size epoch takes `full_epoch` s: each
        epoch's validation scoring plus its training at its own size's cost."""
        if last < first:
            return 0.0
        fixed = min(full_epoch, self.epoch_scoring)
        if self.cost is None:  # less the steps a cut last epoch leaves out
            unused = 0.0
            if self.cut_steps is not None and first <= self.planned <= last:
                unused = (full_epoch - fixed) * (1 - self.cut_steps / self.steps_per_epoch)
            return (last - first + 1) * full_epoch - unused
        return sum(fixed + (full_epoch - fixed) * self.cost(e, epochs) for e in range(first, last + 1))

    def pace(self, epoch: int) -> float:
        """Seconds per epoch since the last plan (made at the end of epoch planned_done), at the end of `epoch`;
        with progressive resizing, of a full-size epoch (untrimmed).  Of 4 epochs or more, the longest is left out
        when it took over twice the median of the others: one slow epoch among short ones (4 s among 0.7 s ones, on
        9,000 images of 12×12) would otherwise cut the plan by a third for good."""
        if epoch <= self.planned_done:
            return self.epoch_seconds
        elapsed, done = time.perf_counter() - self.planned_at, range(self.planned_done + 1, epoch + 1)
        if self.cost is None:
            begun = [self.begun.get(e) for e in done]
            if len(done) >= 4 and None not in begun:
                took = sorted(b - a for a, b in zip(begun, begun[1:] + [time.perf_counter()]))
                if took[-1] > 2 * statistics.median(took[:-1]):  # an outlier, not the spread of ordinary epochs
                    return sum(took[:-1]) / (len(took) - 1)
            return elapsed / len(done)
        fixed = self.epoch_scoring
        cost = sum(self.costs.get(e, 1.0) for e in done)
        return max(0.0, elapsed - len(done) * fixed) / cost + fixed

    def projected_end(self, epoch: int, pace: float) -> float:
        """Seconds from the start at which the run would end: now, the planned epochs after `epoch` at `pace` s
        each, then the last plan's margin for the final scoring."""
        return time.perf_counter() - self.started + self._seconds(epoch + 1, self.planned, self.planned, pace) + \
            self.final_seconds

    def since_plan(self) -> float:
        """Seconds since the last plan's done epochs ended."""
        return time.perf_counter() - self.planned_at

    def overdue(self, epoch: int) -> bool:
        """After an epoch before the planned last: whether the epochs left, at the pace since the last plan,
        would end the run past the budget by more than a quarter of an epoch (and OVERRUN_SLACK of the budget,
        within its SAFETY share).  The pace must span WINDOW of the budget first, or a quarter of the time left
        when that is less: on 90 images epochs of 0.5 s took 0.4-1.0 s, and a plan made again after each one
        followed the noise (40 plans in a 3m run)."""
        if epoch >= self.planned or epoch < self.min_epochs:  # with --freeze-epochs, one unfrozen epoch at least
            return False
        left = self.seconds - (time.perf_counter() - self.started)
        if self.since_plan() < min(WINDOW * self.seconds, left / 4):
            return False
        pace = self.pace(epoch)
        return self.projected_end(epoch, pace) > self.seconds + max(0.25 * pace, OVERRUN_SLACK * self.seconds)

    def ahead(self, epoch: int) -> bool:
        """After an epoch in the first half of the plan (or its first three quarters, when a slow spell has cut
        it below the plan it cut; past the first quarter once only, unless so), at least 2 epochs and WINDOW of
        the budget after the last plan: whether the epochs
        left, at the pace since that plan, would end the run early by more than 1.25 epochs and WINDOW of the
        budget (a slow spell, e.g. another program on the CPU, made an earlier plan too short: on 90 images a spell
        of 1.0 s epochs among 0.5 s ones had cut a 3m plan to 189 epochs, and the run ended after 2 minutes).
        Later the rates fall towards the end of the schedule; lengthening it there would raise them again, so the
        plan stands."""
        shortened = self._steps(self.planned, self.cut_steps) < self.longest and 4 * epoch <= 3 * self.planned
        if epoch < self.planned_done + 2 or (2 * epoch > self.planned and not shortened) or \
                (4 * epoch > self.planned and self.grew_late and not shortened) or \
                self.since_plan() < WINDOW * self.seconds or \
                (self.max_epochs is not None and self.whole >= self.max_epochs):
            return False
        pace = self.pace(epoch)
        return self.projected_end(epoch, pace) < self.seconds - max(1.25 * pace, WINDOW * self.seconds)

    def plan_longer(self, epoch: int) -> int:
        """A plan at the end of `epoch` from the pace since the last plan, never shorter than the last one (which
        then stands as it was, its cut included).  Past the plan's first quarter (one-cycle's warm-up) it grows
        by MAX_LENGTHEN times its steps at most (once: `ahead`), or back to the steps of a plan a slow spell cut,
        which bounds how far the falling rates rise again (back to: as they were before that spell lowered them)."""
        last = (self.planned, self.cut_steps, self.ends, self.epoch_seconds)
        steps = self._steps(*last[:2])
        self.epoch_seconds = self.pace(epoch)
        cap = None if 4 * epoch <= last[0] else max(math.ceil(self.longest / self.steps_per_epoch),
                                                    math.floor(MAX_LENGTHEN * steps / self.steps_per_epoch))
        self._plan(time.perf_counter(), epoch, self.per_image, at_most=cap)
        if self._steps(self.planned, self.cut_steps) < steps:
            self.planned, self.cut_steps, self.ends, self.epoch_seconds = last
        elif cap is not None and self._steps(self.planned, self.cut_steps) > max(steps, self.longest):
            self.grew_late = True  # by MAX_LENGTHEN at most, once
        return self.planned

    def plan_shorter(self, epoch: int) -> int:
        """A plan at the end of `epoch` from the pace since the last plan, never longer than the last one (whose
        steps are remembered as `longest`: the plan may grow back to them)."""
        self.longest = max(self.longest, self._steps(self.planned, self.cut_steps))
        self.epoch_seconds = self.pace(epoch)
        return self._plan(time.perf_counter(), epoch, self.per_image, at_most=self.planned)

    def note(self, measured: str) -> str:
        """The console line of a plan, e.g. 'time budget 3m: 7 epochs planned (25.1 s/epoch measured), ends
        ≈ 2m57s'."""
        capped = " (--max-epochs)" if self.whole == self.max_epochs else ""
        cut = self.cut_steps is not None and self.cut_steps < self.steps_per_epoch  # (a whole one: the run's end)
        if cut and self.planned == 1:
            return (f"time budget {self.text}: 1 epoch planned, cut to {self.cut_steps} of its {self.steps_per_epoch} "
                    f"steps (a whole one, {self.epoch_seconds:.1f} s {measured}, would overrun), ends ≈ "
                    f"{format_duration(self.ends)}")
        if cut:
            return (f"time budget {self.text}: {self.planned} epochs planned{capped}, the last cut to {self.cut_steps} "
                    f"of its {self.steps_per_epoch} steps ({self.epoch_time()} {measured}), ends ≈ "
                    f"{format_duration(self.ends)}")
        return (f"time budget {self.text}: {self.planned} epoch{'s' if self.planned != 1 else ''} planned{capped} "
                f"({self.epoch_time()} {measured}), ends ≈ {format_duration(self.ends)}")

    def epoch_time(self) -> str:
        """The epoch time as the notes print it: '25.1 s/epoch', or in ms under 0.1 s ('40 ms/epoch')."""
        if self.epoch_seconds < 0.1:
            return f"{self.epoch_seconds * 1000:.0f} ms/epoch"
        return f"{self.epoch_seconds:.1f} s/epoch"
