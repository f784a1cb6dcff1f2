"""Wall-clock budgets (`--time`): parsing, the plan's schedule, a timed run that ends on time, resuming it, and the
time-budgeted default run of `cnnlab train` on images."""
from __future__ import annotations

import dataclasses
import io
import json
import math
import re
import shutil
import time

import pytest
import torch

from cnnlab.api import Classifier
from cnnlab.cli import main
from cnnlab.data import Dataset, Split
from cnnlab.models import build
from cnnlab.training import recipes
from cnnlab.training import costs as costs_module
from cnnlab.training.budget import SAFETY, TimeBudget
from cnnlab.training.costs import FINAL_NOISE
from cnnlab.training.duration import format_duration, parse_duration
from cnnlab.training.callbacks import Callback
from cnnlab.training.config import TrainConfig
from cnnlab.training.console import Console
from cnnlab.training.distributed import SINGLE
from cnnlab.training.pipeline import train
from cnnlab.training.optim import build_scheduler, rebuild_scheduler
from cnnlab.training.state import TrainState

BUDGET = 8.0  # seconds: a whole small run, data loading included
SMALL = dict(data="mnist-mini", limit=500, batch_size=32, model="mnist-2conv", threads=1, val_split=0.1)


RESULTS = 0.5  # the results' share of the small budgets below (costs.RESULTS_SECONDS is measured on a 2-core CPU)


@pytest.fixture(autouse=True)
def _results_seconds(monkeypatch):
    """The plans' arithmetic below is worked out with RESULTS seconds for the results."""
    monkeypatch.setattr(costs_module, "RESULTS_SECONDS", RESULTS)


# ── parsing ──────────────────────────────────────────────────────────────────────────────────────────────
@pytest.mark.parametrize("text, seconds", [("90", 90), ("90s", 90), ("3m", 180), ("1.5m", 90), ("2h", 7200),
                                           (" 20S ", 20), (".5m", 30), (45, 45)])
def test_durations_in_seconds_minutes_and_hours(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["soon", "3x", "", "m", "-1m", "0", "1m30s", "3 minutes"])
def test_a_bad_duration_is_one_line_naming_it_and_the_accepted_forms(text):
    with pytest.raises(ValueError) as err:
        TrainConfig(time=text)
    message = str(err.value)
    assert repr(text) in message and "3m" in message and "90s" in message and "\n" not in message


def test_durations_print_as_people_read_them():
    assert [format_duration(s) for s in (4.6, 59.4, 177, 3725)] == ["5s", "59s", "2m57s", "1h02m"]


def test_the_cli_refuses_a_bad_time_and_time_with_epochs(tmp_path, capsys):
    assert main(["train", "mnist-mini", "--time", "soon", "--runs-dir", str(tmp_path)]) == 2
    assert "time 'soon' is not a duration" in capsys.readouterr().err
    assert main(["train", "mnist-mini", "--time", "1m", "--epochs", "3", "--runs-dir", str(tmp_path)]) == 2
    assert "not both" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


# ── the schedule of a plan ───────────────────────────────────────────────────────────────────────────────
def _rates(cfg, plans, steps_per_epoch):
    """The rate after each step of a run re-planned to plans[step] epochs at those steps (plans[0]: the start)."""
    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.01)
    cfg = TrainConfig(**{**cfg, "epochs": plans[0]})
    scheduler, rates, step = build_scheduler(cfg, optimizer, steps_per_epoch), [], 0
    while step < cfg.epochs * steps_per_epoch:
        optimizer.step()
        scheduler.step()
        step += 1
        if step in plans:
            cfg = TrainConfig(**{**cfg.to_dict(), "epochs": plans[step]})
            scheduler = rebuild_scheduler(cfg, optimizer, steps_per_epoch, step)
        rates.append(optimizer.param_groups[0]["lr"])
    return rates


@pytest.mark.parametrize("schedule", ["onecycle", "cosine", "step"])
def test_a_rebuilt_schedule_continues_as_if_planned_from_the_start(schedule):
    cfg = dict(lr=0.01, optimizer="adamw", schedule=schedule, step_epochs=1)
    planned = _rates(cfg, {0: 4}, 16)
    replanned = _rates(cfg, {0: 9, 11: 6, 16: 4}, 16)  # a first plan at step 11, a second after epoch 1
    assert len(replanned) == len(planned) == 64
    assert replanned[16:] == pytest.approx(planned[16:], rel=1e-9)


def test_a_replanned_one_cycle_peaks_once_and_ends_at_its_final_rate():
    rates = _rates(dict(lr=0.01, optimizer="adamw", schedule="onecycle"), {0: 5, 11: 7, 16: 6}, 16)
    peak = rates.index(max(rates))
    assert max(rates) == pytest.approx(0.01, rel=0.02)  # the peak step falls between two steps
    near = [i for i, rate in enumerate(rates) if rate > 0.95 * max(rates)]
    assert near == list(range(near[0], near[-1] + 1))  # the peak is reached once (warm-up steps may jump a little
    assert rates[0] < rates[11] < rates[near[0]]  # between plans: each plan's rate at that step) ...
    assert all(a >= b - 1e-12 for a, b in zip(rates[peak:], rates[peak + 1:]))  # ... and the anneal is monotone
    assert rates[-1] == pytest.approx(0.01 / 10 / 100)  # one-cycle's final rate: max / div / final_div


def test_a_plan_in_the_frozen_epochs_sets_the_unfrozen_phase_s_length_and_one_after_rebuilds_it():
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    cfg = TrainConfig(epochs=3, freeze_epochs=1, lr=0.01, optimizer="adamw")
    state = TrainState.create(model, cfg, 10, torch.device("cpu"), None, SINGLE, "val_acc")
    frozen = state.scheduler
    state.begin_epoch(1)
    state.plan_epochs(6)
    assert state.scheduler is frozen and state.cfg.epochs == state.epochs == 6  # the frozen phase: as it was
    state.step = 10
    state.begin_epoch(2)  # unfreezes: a schedule over the 5 epochs left
    assert state.scheduler.total_steps == 5 * 10 + 1
    for _ in range(5):
        state.optimizer.step()
        state.step_schedule()
        state.step += 1
    state.plan_epochs(4)
    assert (state.scheduler.total_steps, state.scheduler.last_epoch) == (3 * 10 + 1, 5)


def _budget(seconds, elapsed, min_epochs=1):
    return TimeBudget(f"{seconds}s", seconds, time.perf_counter() - elapsed, steps_per_epoch=10, batch_size=10,
                      scored_images=0, final_images=0, min_epochs=min_epochs)


def test_a_plan_fills_the_budget_less_the_final_margin_and_stops_an_overrun():
    budget = _budget(9.9, elapsed=2)
    budget.epoch_seconds = 1.0
    margin = RESULTS + SAFETY * 9.9  # 7.2 s left: 7 epochs, and 2 steps (under MIN_CUT) are not worth one
    assert budget._plan(time.perf_counter(), 1, 0.0) == 1 + int((9.9 - 2 - margin) // 1) and budget.cut_steps is None
    assert budget.ends == pytest.approx(2 + (budget.planned - 1) + margin, abs=0.05) and budget.ends <= 9.9
    planned, planned_at, started = budget.planned, budget.planned_at, budget.started
    budget.started, budget.planned_at = started - 1, planned_at - 1  # epoch 2 took 1 s, as planned
    assert not budget.overdue(2) and budget.pace(2) == pytest.approx(1.0, abs=0.05)
    budget.started, budget.planned_at = started - 2, planned_at - 2  # it took 2 s: the epochs left would overrun
    assert budget.overdue(2) and not budget.overdue(planned)
    shorter = budget.plan_shorter(2)  # the time left (5.2 s), at 2 s per epoch: 2 whole, and 6 steps of 0.2 s
    assert shorter == 2 + int((9.9 - 4 - margin) // 2) + 1 < planned and budget.cut_steps in (5, 6)
    assert budget.ends == pytest.approx(9.9, abs=0.25) and budget.ends <= 9.9
    late = _budget(10, elapsed=12, min_epochs=2)  # the data took the whole budget: the least that can run
    late.epoch_seconds = 1.0
    assert late._plan(time.perf_counter(), 1, 0.0) == 2


def test_a_plan_made_in_a_slow_spell_grows_again_in_its_first_half_only():
    budget = _budget(40, elapsed=2)
    budget.epoch_seconds = 3.0  # epoch 1 ran slowly (another program had the CPU)
    margin = RESULTS + SAFETY * 40
    planned = budget._plan(time.perf_counter(), 1, 0.0)
    assert planned == 1 + int((40 - 2 - margin) // 3)
    planned_at, started = budget.planned_at, budget.started
    budget.started, budget.planned_at = started - 1, planned_at - 1  # epoch 2 in 1 s: too soon to trust the pace
    assert not budget.ahead(2)
    budget.started, budget.planned_at = started - 2, planned_at - 2  # epochs 2 and 3 in 1 s each
    assert budget.ahead(3) and not budget.overdue(3)
    longer = budget.plan_longer(3)  # the time left, at 1 s per epoch: 34 whole ones, and 0.7 s for 7 steps
    assert longer == 3 + int((40 - 4 - margin) // 1) + 1 > planned and budget.cut_steps in (6, 7)
    assert budget.ends <= 40
    budget.started, budget.planned_at, budget.planned_done = started - 2, planned_at - 2, 1
    budget.planned, budget.cut_steps, budget.longest = 5, None, 50  # epoch 3 of 5 is past half the plan: the
    # falling rates stay
    assert not budget.ahead(3)
    budget.planned, budget.longest = 8, 80  # epoch 3 of 8: past the warm-up quarter, before half way: longer by half
    # at most
    assert budget.ahead(3) and budget.plan_longer(3) == 12 and budget.cut_steps is None and budget.grew_late
    budget.started, budget.planned_at = budget.started - 2, time.perf_counter() - 2  # epochs 4-5 in 1 s each
    assert not budget.ahead(5)  # epoch 5 of 12: before half way, but it grew past its first quarter once already
    budget.grew_late = False
    assert budget.ahead(5)
    capped = _budget(40, elapsed=2)
    capped.max_epochs, capped.epoch_seconds = 8, 3.0
    capped._plan(time.perf_counter(), 1, 0.0)
    capped.started, capped.planned_at = capped.started - 2, capped.planned_at - 2
    assert capped.planned == 8 and not capped.ahead(3)  # already at --max-epochs


def test_short_epochs_change_the_plan_only_once_their_pace_spans_a_window_of_the_budget():
    """Epochs of a small data set: 0.5 s each in a 3-minute budget, varying 0.4-1.0 s; a plan made again after each
    one followed the noise (40 notes in one run) and a slow spell cut the run to 2 minutes."""
    budget = _budget(180, elapsed=10)
    budget.epoch_seconds = 0.5
    planned = budget._plan(time.perf_counter(), 10, 0.0)
    planned_at, started = budget.planned_at, budget.started
    budget.started, budget.planned_at = started - 1.6, planned_at - 1.6  # 2 epochs at 0.8 s: a 60% slower pace
    assert budget.projected_end(12, budget.pace(12)) > 180 + 9  # would overrun, but 1.6 s of epochs is noise here
    assert not budget.overdue(12)
    budget.started, budget.planned_at = started - 16, planned_at - 16  # 16 s of epochs at 0.8 s: a slow spell
    assert budget.overdue(30) and budget.plan_shorter(30) < planned
    shorter, planned_at, started = budget.planned, budget.planned_at, budget.started
    budget.started, budget.planned_at = started - 1.0, planned_at - 1.0  # the next 2 epochs at 0.5 s: too soon
    assert not budget.ahead(32)
    budget.started, budget.planned_at = started - 10, planned_at - 10  # 20 epochs at 0.5 s: the spell has passed
    assert budget.ahead(50) and budget.plan_longer(50) > shorter
    longest = budget.longest  # of the first plan: ~341 epochs of 10 steps
    budget.planned, budget.cut_steps, budget.planned_done = 100, None, 50  # then cut to 100 at epoch 50
    budget.started, budget.planned_at = budget.started - 10, time.perf_counter() - 10  # epochs 51-70 at 0.5 s
    assert budget.ahead(70) and 100 < budget.plan_longer(70) <= math.ceil(longest / 10)  # 70%: it grows back
    budget.planned, budget.cut_steps, budget.planned_done, budget.longest = 100, None, 50, 1000
    budget.planned_at = time.perf_counter() - 10
    assert not budget.ahead(70)  # past half a plan that was never longer: it stands
    spiky = _budget(180, elapsed=10)  # one slow epoch among short ones is left out of the pace
    spiky.epoch_seconds = 0.7
    spiky._plan(time.perf_counter(), 10, 0.0)
    now = time.perf_counter()
    spiky.planned_at = now - 6.8
    spiky.begun = {11: now - 6.8, 12: now - 6.1, 13: now - 5.4, 14: now - 1.4, 15: now - 0.7}  # epoch 13 took 4 s
    assert spiky.pace(15) == pytest.approx(0.7, abs=0.02) and not spiky.overdue(15)
    late = _budget(180, elapsed=170)  # near the end the window shrinks to a quarter of the time left
    late.epoch_seconds = 0.5
    late._plan(time.perf_counter(), 300, 0.0)
    late.started, late.planned_at = late.started - 3, late.planned_at - 3  # 2 epochs at 1.5 s: 7 s left
    assert late.overdue(302)


def test_a_budget_that_holds_no_whole_epoch_cuts_epoch_1_to_the_steps_that_fit():
    budget = TimeBudget("10s", 10.0, time.perf_counter() - 2, steps_per_epoch=100, batch_size=10,
                        scored_images=0, final_images=0)
    budget.first_step = time.perf_counter() - 1.0  # steps 2-11 took 1 s: 0.1 s per step, 10 s per epoch
    assert budget.plan_from_steps(11) == 1
    margin = RESULTS + SAFETY * 10
    assert budget.cut_steps == pytest.approx(11 + (10 - 2 - margin) / 0.1, abs=5) and budget.cut_steps < 100
    assert budget.ends == pytest.approx(10 - 0.1, abs=0.15) and budget.ends <= 10
    assert not budget.replan_due(1)  # the cut epoch is the run's last
    assert budget.note("estimated").startswith(f"time budget 10s: 1 epoch planned, cut to {budget.cut_steps} of "
                                               "its 100 steps (a whole one, 10.0 s estimated, would overrun)")
    roomy = TimeBudget("20s", 20.0, time.perf_counter() - 2, steps_per_epoch=100, batch_size=10,
                       scored_images=0, final_images=0)
    roomy.first_step = time.perf_counter() - 1.0  # epoch 1 fits whole; the 8.2 s it leaves hold 82 steps of epoch 2
    assert roomy.plan_from_steps(11) == 2 and roomy.cut_steps in (81, 82)
    assert roomy.note("estimated").startswith(f"time budget 20s: 2 epochs planned, the last cut to {roomy.cut_steps} "
                                              "of its 100 steps (10.0 s/epoch estimated), ends ≈ ")
    assert roomy.replan_due(1) and not roomy.replan_due(2)  # the cut epoch is the run's last
    frozen = TimeBudget("10s", 10.0, time.perf_counter() - 2, steps_per_epoch=100, batch_size=10,
                        scored_images=0, final_images=0, min_epochs=2)
    frozen.first_step = time.perf_counter() - 1.0
    assert frozen.plan_from_steps(11) == 2 and frozen.cut_steps is None  # --freeze-epochs: whole epochs


def test_what_the_whole_epochs_leave_goes_to_a_cut_last_epoch_worth_a_scoring():
    budget = TimeBudget("10.5s", 10.5, time.perf_counter() - 2, steps_per_epoch=10, batch_size=10,
                        scored_images=100, final_images=0)
    budget.epoch_seconds = 1.0  # 0.8 s of training (10 steps) and 0.2 s of validation (100 images at 2 ms)
    margin = RESULTS + SAFETY * 10.5
    left = 10.5 - 2 - margin  # 7.79 s: 7 whole epochs, then 0.79 s: a scoring and 7 steps of 0.08 s
    assert budget._plan(time.perf_counter(), 1, 0.002) == 1 + 7 + 1 and budget.cut_steps == 7
    assert budget.ends == pytest.approx(2 + 7 + 0.2 + 7 * 0.08 + margin, abs=0.05) and budget.ends <= 10.5
    assert budget.note("measured").startswith("time budget 10.5s: 9 epochs planned, the last cut to 7 of its 10 "
                                              "steps (1.0 s/epoch measured)")
    assert budget.projected_end(1, 1.0) == pytest.approx(budget.ends, abs=0.05)  # the cut epoch costs its steps
    quick = dataclasses.replace(budget, epoch_seconds=0.04)  # 40 tiny images an epoch: ms, not "0.0 s/epoch"
    assert "(40 ms/epoch measured)" in quick.note("measured") and budget.epoch_time() == "1.0 s/epoch"
    assert not budget.overdue(1)  # on pace
    budget.started -= left - 7 - 0.2 - 0.1  # 0.3 s left after 7 epochs: 1 step (< MIN_CUT × 10) is not worth a scoring
    assert budget._plan(time.perf_counter(), 1, 0.002) == 8 and budget.cut_steps is None
    for whole in (dict(min_epochs=2), dict(max_epochs=8)):  # --freeze-epochs, or --max-epochs reached: no cut
        other = TimeBudget("10.5s", 10.5, time.perf_counter() - 2, steps_per_epoch=10, batch_size=10,
                           scored_images=100, final_images=0, **whole)
        other.epoch_seconds = 1.0
        assert other._plan(time.perf_counter(), 1, 0.002) == 8 and other.cut_steps is None
    capped = TimeBudget("10.5s", 10.5, time.perf_counter() - 2, steps_per_epoch=10, batch_size=10,
                        scored_images=100, final_images=0, max_epochs=9)
    capped.epoch_seconds = 1.0  # 8 whole epochs and a cut 9th: time set the limit, not --max-epochs
    assert capped._plan(time.perf_counter(), 1, 0.002) == 9 and capped.cut_steps == 7 and capped.whole == 8
    assert "(--max-epochs)" not in capped.note("measured")
    resized = TimeBudget("10.5s", 10.5, time.perf_counter() - 2, steps_per_epoch=10, batch_size=10,
                         scored_images=100, final_images=0, cost=lambda epoch, epochs: 1.0)
    resized.epoch_seconds = 1.0  # progressive resizing: whole epochs (each at its size)
    assert resized._plan(time.perf_counter(), 1, 0.002) == 8 and resized.cut_steps is None


def test_a_cut_epoch_is_revised_at_half_three_quarters_and_nine_tenths_of_its_steps():
    budget = TimeBudget("20s", 20.0, time.perf_counter() - 5, steps_per_epoch=100, batch_size=10,
                        scored_images=0, final_images=0)
    budget.planned, budget.cut_steps, budget.final_seconds = 1, 60, 1.0
    assert [s for s in range(1, 101) if budget.revise_due(1, s)] == [30, 45, 54]  # 1/2, 3/4 and 9/10 of 60
    assert not budget.revise_due(2, 30)  # not the planned last epoch
    budget.first_step = time.perf_counter() - 2.9  # steps 2..30 at 0.1 s: 14 s left less 1 s of margin, 130 more
    assert budget.revise_cut(1, 30) and budget.cut_steps == 90  # the first revision lengthens it, by half at most
    budget.revised, budget.cut_steps = False, 80
    assert budget.revise_cut(1, 30) and budget.cut_steps == 100  # ... and to the whole epoch at most
    assert budget.note("measured").startswith("time budget 20s: 1 epoch planned (")  # no longer cut
    budget.cut_steps = 60
    assert not budget.revise_cut(1, 30) and budget.cut_steps == 60  # later ones never: the rates are falling
    budget.started = time.perf_counter() - 15
    budget.first_step = time.perf_counter() - 14.5  # 0.5 s per step: 20 - 15 - 1 ≈ 4 s left: 8 more steps
    assert budget.revise_cut(1, 30) and budget.cut_steps in (37, 38)
    assert budget.ends == pytest.approx(20.0, abs=0.6)
    assert not budget.revise_cut(1, 30) or budget.cut_steps in (37, 38)  # the same pace: no change
    budget.started = time.perf_counter() - 25  # past the budget already: one more step, the least
    assert budget.revise_cut(1, 30) and budget.cut_steps == 31
    early = TimeBudget("20s", 20.0, time.perf_counter(), steps_per_epoch=100, batch_size=10, scored_images=0,
                       final_images=0, planned=1, cut_steps=20)
    assert not early.revise_due(1, 10)  # in epoch 1, never before the first plan's 11 steps
    for timed_at, cut in ((0.003, (64, 65)), (0.001, (88, 89))):  # the scoring timed again: its price from now
        timed = TimeBudget("20s", 20.0, time.perf_counter() - 12, steps_per_epoch=100, batch_size=10,
                           scored_images=0, final_images=1000, planned=1, cut_steps=70, per_image=0.002)
        timed.final_seconds = timed._final(0.002)
        timed.first_step = time.perf_counter() - 2.9  # 0.1 s per step: 8 s left less the final margin
        changed = timed.revise_cut(1, 30, score_per_image=timed_at)
        assert timed.per_image == timed_at and changed == (timed.cut_steps != 70)
        assert timed.final_seconds == pytest.approx(FINAL_NOISE * timed_at * 1000 + RESULTS + SAFETY * 20)
        assert timed.cut_steps in cut  # 8 - 4.5 s: 35 more steps; 8 - 2.1 s: 59 more (less a step of jitter)


def test_a_one_epoch_plan_does_not_score_its_cut_epoch_and_gives_that_time_to_training():
    for elapsed, cut in ((12, 82), (9, 100)):  # 12 s spent: 7.1 s left for steps; 9 s: the whole epoch, unscored
        budget = TimeBudget("20s", 20.0, time.perf_counter() - elapsed, steps_per_epoch=100, batch_size=10,
                            scored_images=1000, final_images=0)
        budget.first_step = time.perf_counter() - 1.0  # steps 2..11 at 0.1 s/step, scoring at 2 ms per image
        budget.costs[1] = 1.0
        budget.score_per_image = 0.002
        assert budget.plan_from_steps(11) == 1 and not budget.scores_epoch(1)  # its 2 s of validation: 20 steps
        assert budget.cut_steps == pytest.approx(cut, abs=2) and budget.ends <= 20.0
    scored = TimeBudget("20s", 20.0, time.perf_counter() - 5, steps_per_epoch=100, batch_size=10,
                        scored_images=1000, final_images=0)
    scored.planned, scored.cut_steps = 3, 50
    assert scored.scores_epoch(3) and _budget(20, 1).scores_epoch(1)  # a longer plan's, or a whole epoch: scored


class CutLast(Callback):
    """Plans 3 epochs, the last cut to 4 steps (what a time budget does), and keeps the run as it was after epoch 2."""

    def __init__(self, keep):
        self.keep, self.steps = keep, None

    def on_train_begin(self, state):
        state.plan_epochs(3, 4)

    def on_epoch_end(self, state, metrics):
        if state.epoch == 2:
            shutil.copytree(state.cfg.runs_dir, self.keep)

    def on_train_end(self, state):
        self.steps = (state.steps_per_epoch, state.step)


def test_a_longer_plan_never_trains_fewer_steps_than_the_last_one():
    budget = _budget(40, elapsed=2)
    budget.epoch_seconds = 1.0
    budget._plan(time.perf_counter(), 1, 0.0)
    assert budget.planned == 38 and budget.cut_steps in (6, 7)  # 37 whole, the 38th cut to 7 of its 10 steps
    before = (budget.planned, budget.cut_steps, budget.ends)
    budget.started -= 2  # epochs 2 and 3 ended at 4 s; at 1.02 s per epoch the 34.7 s left hold 34 whole epochs
    budget.pace = lambda epoch: 1.02  # and 0.02 s: a plan of 37, fewer steps than the last one's
    assert budget.plan_longer(3) == 38 and (budget.planned, budget.cut_steps, budget.ends) == before


def test_a_cut_last_epoch_trains_its_steps_ends_the_schedule_and_resumes_so(tmp_path, capsys):
    cut = CutLast(tmp_path / "after-epoch-2")
    result = train(TrainConfig(**SMALL, epochs=3, schedule="linear", runs_dir=str(tmp_path / "runs")), [cut])
    per_epoch, steps = cut.steps
    assert per_epoch > 4 and steps == 2 * per_epoch + 4 and len(result.fit.history) == 3
    assert result.fit.history[-1]["lr"] == 0.0  # the linear schedule reached its end at the cut's last step
    assert torch.load(result.run_dir / "last.pt", weights_only=True)["epoch_steps"] == 4
    run = next((tmp_path / "after-epoch-2").iterdir())
    assert main(["train", "--resume", str(run)]) == 0, capsys.readouterr().err  # the schedule rebuilt for the cut
    last = torch.load(run / "last.pt", weights_only=True)
    assert (last["epoch"], last["step"], last["history"][-1]["lr"]) == (3, steps, 0.0)
    kept = torch.load(next((tmp_path / "after-epoch-2").iterdir()) / "last.pt", weights_only=True)
    for epochs, cut in ((3, 4), (5, None)):  # resumed for more epochs (a step schedule may): the cut no longer holds
        cfg = TrainConfig(**{**SMALL, "epochs": epochs, "schedule": "step"})
        state = TrainState.create(build("mnist-2conv", (1, 28, 28), 10), cfg, per_epoch, torch.device("cpu"), None,
                                  SINGLE, "val_acc")
        state.load_state_dict(kept)
        assert state.epoch_steps == cut and state.steps_in(3) == (cut or per_epoch)


def test_the_first_plan_comes_after_10_steps_or_sooner_when_slow_steps_take_5_percent_of_the_budget():
    def budget():
        return TimeBudget("100s", 100.0, time.perf_counter(), steps_per_epoch=50, batch_size=10, scored_images=0,
                          final_images=0)

    fast = budget()
    assert [step for step in range(1, 51) if fast.plan_due(1, step)] == [11]  # quick steps: after 10 of them
    slow = budget()
    assert not slow.plan_due(1, 1) and not slow.plan_due(1, 2)
    slow.first_step -= 5.0  # steps 2-3 took 5 s, 5% of the budget: plan now, from them
    assert slow.plan_due(1, 3) and not slow.plan_due(1, 4) and not slow.plan_due(1, 11)  # once
    other = budget()
    other.plan_due(1, 1)
    other.first_step -= 5.0
    assert not other.plan_due(1, 3, agree=lambda due: False)  # rank 0's clock decides for every rank
    assert other.plan_due(1, 4, agree=lambda due: due)
    short = TimeBudget("100s", 100.0, time.perf_counter(), steps_per_epoch=11, batch_size=10, scored_images=0,
                       final_images=0)
    assert not any(short.plan_due(1, step) for step in range(1, 12))  # an 11-step epoch is planned at its end


def test_max_epochs_caps_every_plan_and_the_note_says_so():
    budget = _budget(100, elapsed=1)
    budget.max_epochs, budget.epoch_seconds = 6, 1.0
    assert budget._plan(time.perf_counter(), 1, 0.0) == 6  # ~95 would fit
    assert budget.note("measured").startswith("time budget 100s: 6 epochs planned (--max-epochs) (1.0 s/epoch")
    assert budget.ends < 10


# ── a timed run ──────────────────────────────────────────────────────────────────────────────────────────
class Rates(Callback):
    """Records the rate every LOG_EVERY steps and keeps a copy of the run directory after epoch 2."""

    def __init__(self, keep):
        self.rates, self.keep = [], keep

    def on_batch_end(self, state, logs):
        self.rates.append(state.optimizer.param_groups[0]["lr"])

    def on_epoch_end(self, state, metrics):
        if state.epoch == 2:  # after the last plan (a run planned for fewer than 8 epochs is not re-planned here)
            shutil.copytree(state.cfg.runs_dir, self.keep)


@pytest.fixture(scope="module")
def timed(tmp_path_factory):
    """One run of SMALL within BUDGET: (result, console output, rate recorder, copy of the run after epoch 2)."""
    tmp = tmp_path_factory.mktemp("timed")
    out, rates = io.StringIO(), Rates(tmp / "after-epoch-2")
    result = train(TrainConfig(**SMALL, time=f"{BUDGET:g}s", runs_dir=str(tmp / "runs")),
                   [Console(stream=out, bar=False), rates])
    return result, out.getvalue(), rates, tmp / "after-epoch-2"


def test_a_timed_run_ends_within_its_budget_with_the_epochs_it_planned(timed):
    result, out, _, _ = timed
    assert BUDGET * 0.5 < result.seconds < BUDGET * 1.15 + 1.0, out
    epochs = result.fit.epochs
    assert epochs >= 1 and len(result.fit.history) == epochs and not result.fit.stopped_early
    config = json.loads((result.run_dir / "config.json").read_text())
    assert config["epochs"] == epochs and config["time"] == "8s" and config["_dataset"]["name"] == "mnist-mini"
    assert torch.load(result.run_dir / "last.pt", weights_only=True)["config"]["epochs"] == epochs


def test_each_plan_is_a_note_line(timed):
    result, out, _, _ = timed
    notes = [line for line in out.splitlines() if line.startswith("note      time budget 8s: ")]
    # 16 steps per epoch: a plan after step 11, others after epoch 1 and (with 4 epochs or more) epoch 2, shorter
    # ones where a busy machine slowed the epochs down, and longer ones in the plan's first half after a slow spell
    # (or in its first three quarters, back to the longest plan's length)
    assert len(notes) >= 2, out
    plans, epoch = [], 0  # (the epoch after which each plan was made, the epochs it planned)
    for line in out.splitlines():
        if re.match(r"epoch +\d+ ", line):
            epoch = int(line.split()[1])
        elif line in notes:
            plans.append((epoch, int(re.search(r": (\d+) epochs? planned", line).group(1))))
    cut_from = 0  # the longest plan a later one shortened
    for (_, before), (after, planned) in zip(plans[1:], plans[2:]):
        assert planned <= before or after <= 2 or 2 * after <= before or (
            4 * after <= 3 * before and planned <= cut_from + 1), out
        cut_from = max(cut_from, before) if planned < before else cut_from
    assert "s/epoch estimated" in notes[0] and notes[-1].startswith(
        f"note      time budget 8s: {result.fit.epochs} epoch") and "s/epoch measured), ends ≈ " in notes[-1]
    lines = out.splitlines()
    assert lines.index(notes[1]) == lines.index(next(l for l in lines if l.startswith("epoch   1"))) + 1


def _planned_steps(note: str) -> int:
    """The steps a plan's note line plans: its epochs, the last one cut to its stated steps."""
    epochs = int(re.search(r": (\d+) epochs? planned", note).group(1))
    cut = re.search(r"cut to (\d+) of its (\d+) steps", note)
    return (epochs - 1) * int(cut.group(2)) + int(cut.group(1)) if cut else epochs * 16  # SMALL: 16 steps per epoch


def test_the_timed_run_s_rates_rise_to_the_peak_then_anneal_to_the_final_rate(timed):
    result, out, rates, _ = timed
    lr = 1e-3  # adam's default
    assert result.fit.history[-1]["lr"] == pytest.approx(lr / 1000, rel=1e-6)  # the plan's last step: the end
    peak = rates.rates.index(max(rates.rates))
    rises = [b for a, b in zip(rates.rates[peak:], rates.rates[peak + 1:]) if b > a + 1e-12]
    # past the peak the rates only fall, but where a later plan lengthened the run (after a slow spell): the
    # one-cycle rebuilt over more steps stands earlier in its annealing at that step
    plans = [_planned_steps(line) for line in out.splitlines() if line.startswith("note      time budget 8s: ")]
    longer = sum(after > before for before, after in zip(plans, plans[1:]))
    assert len(rises) <= longer, (rises, plans, out)


def test_a_timed_run_resumes_the_epochs_it_planned(timed, capsys):
    result, _, _, kept = timed
    if not kept.exists():  # a machine busy enough to fit a single epoch in the budget: nothing to resume
        pytest.skip(f"the budget held {result.fit.epochs} epoch(s) on this busy machine")
    run = next(kept.iterdir())  # as it was after epoch 2 (a busy machine may have shortened the plan since)
    planned = torch.load(run / "last.pt", weights_only=True)["config"]["epochs"]
    # later plans shorten it, or grow it only in their first quarter: from epoch 3 on, so from 12 planned epochs
    assert (planned >= result.fit.epochs or planned >= 12) and \
        json.loads((run / "config.json").read_text())["epochs"] == planned
    assert main(["train", "--resume", str(run), "--time", "1m"]) == 2
    assert "--time 1m: a resumed run continues the epochs its own plan chose" in capsys.readouterr().err
    assert main(["train", "--resume", str(run)]) == 0
    out = capsys.readouterr().out
    assert f"note      time budget 8s: the resumed run continues the {planned} epochs it planned" in out
    assert "planned (" not in out  # no new plan
    assert len((run / "history.csv").read_text().splitlines()) == 1 + planned


class SlowSteps(Rates):
    """Rates, with every step made at least 20 ms slower (0.2 s per LOG_EVERY steps), so that on any machine the
    1,350 steps of an epoch (27 s or more) overrun the budget below, and on a slow one still leave steps to cut."""

    def on_batch_end(self, state, logs):
        super().on_batch_end(state, logs)
        time.sleep(0.2)


def test_a_run_whose_budget_holds_no_whole_epoch_ends_on_time_with_its_rates_annealed(tmp_path):
    out, rates = io.StringIO(), SlowSteps(tmp_path / "unused")
    # fp32: the final scoring is priced from the (slowed) training steps, at FP32_COST times that where training runs
    # in bf16 (an AMD CPU with AVX-512 BF16): 1,600 images would then take most of the 15 s and leave no steps to cut
    result = train(TrainConfig(data="mnist-mini", batch_size=4, model="cnn", threads=1, val_split=0.1, device="cpu",
                               precision="fp32", time="15s", runs_dir=str(tmp_path / "runs")),
                   [Console(stream=out, bar=False), rates])
    text = out.getvalue()
    cut = re.search(r"time budget 15s: 1 epoch planned, cut to (\d+) of its (\d+) steps", text)
    assert cut and 11 < int(cut.group(1)) < int(cut.group(2)) == 1350, text
    assert len(result.fit.history) == result.fit.epochs == 1 and result.seconds < 15 * 1.1 + 1.0, text
    assert result.fit.history[0]["lr"] == pytest.approx(1e-3 / 1000, rel=1e-6)  # one-cycle's final rate: annealed
    assert "epoch planned (" not in text  # no later plan of a whole epoch
    assert "val_acc" not in result.fit.history[0]  # the only epoch: scored by the final report alone
    assert result.fit.best_value == result.reports["val"].headline["acc"] and "best val_acc n/a" not in text
    peak = rates.rates.index(max(rates.rates))  # the cut steps' one-cycle: up to its peak, then down, but for one
    rises = [b / a for a, b in zip(rates.rates[peak:], rates.rates[peak + 1:]) if b > a]  # lengthened at half way
    assert 0 < peak < len(rates.rates) - 1 and len(rises) <= 1 and all(rise < 1.5 for rise in rises), rates.rates


def test_classifier_fit_plans_its_epochs_within_a_time_budget(mini):
    clf = Classifier("mnist-2conv")
    start = time.perf_counter()
    history = clf.fit(mini["train"].images[:300], mini["train"].labels[:300], time="2s", batch_size=32,
                      threads=1, validation_split=0.1)
    assert time.perf_counter() - start < 2 * 1.15 + 1.0
    assert 1 <= len(history) == clf.config.epochs and clf.config.time == "2s"
    assert len(clf.fit(mini["train"].images[:100], mini["train"].labels[:100], epochs=1, threads=1)) == 1


# ── the default run ──────────────────────────────────────────────────────────────────────────────────────
def test_images_without_a_length_take_the_time_budgeted_fast_recipe(mini):
    cfg = recipes.apply_recipe(TrainConfig(), mini, explicit=set(), default_run=True)
    assert (cfg.recipe, cfg.time, cfg.model) == ("fast", "3m", "fastcnn-patch")
    assert recipes.default_run_notes(cfg, mini, True) == [
        "default run: recipe fast for digit-sized gray images, time budget 3m (choose --epochs N, --time T or "
        "--recipe best to change)"]
    for chosen in ({"epochs"}, {"recipe"}):
        kept = TrainConfig(epochs=2) if chosen == {"epochs"} else TrainConfig(recipe="best")
        cfg = recipes.apply_recipe(kept, mini, explicit=chosen, default_run=True)
        assert cfg.time == kept.time and cfg.recipe == kept.recipe and cfg.epochs == (2 if chosen == {"epochs"}
                                                                                         else cfg.epochs)
    # --time alone: the same fast recipe within the user's budget, said so
    cfg = recipes.apply_recipe(TrainConfig(time="1m"), mini, explicit={"time"}, default_run=True)
    assert (cfg.recipe, cfg.time, cfg.model) == ("fast", "1m", "fastcnn-patch")
    assert recipes.default_run_notes(cfg, mini, True)[0].startswith(
        "default run: recipe fast for digit-sized gray images, time budget 1m")
    # a long budget alone: the best recipe, which uses it
    cfg = recipes.apply_recipe(TrainConfig(time="10m"), mini, explicit={"time"}, default_run=True)
    assert (cfg.recipe, cfg.time, cfg.model, cfg.max_epochs) == ("best", "10m", "digitnet", None)
    assert recipes.default_run_notes(cfg, mini, True) == [
        "default run: recipe best for digit-sized gray images, time budget 10m (choose --epochs N, --time T or "
        "--recipe fast to change)"]
    # within a budget the fast digits recipe augments, for as many epochs as the budget holds; without one it doesn't
    timed = recipes.apply_recipe(TrainConfig(time="3m"), mini, explicit={"time"}, default_run=True)
    assert (timed.augment, timed.max_epochs) == ("rotation=10,shift=0.1,zoom=0.1,fill=constant", None)
    assert recipes.apply_recipe(TrainConfig(recipe="fast", time="1m"), mini, explicit={"recipe", "time"}).augment \
        == timed.augment
    assert recipes.apply_recipe(TrainConfig(recipe="fast"), mini, explicit={"recipe"}).augment is None
    own = recipes.apply_recipe(TrainConfig(time="3m", augment="shift=0.05"), mini, explicit={"time", "augment"},
                               default_run=True)
    assert own.augment == "shift=0.05"  # the user's augmentation wins
    assert recipes.apply_recipe(TrainConfig(), mini) == TrainConfig()  # Python callers keep their 5 epochs


def test_other_modalities_keep_their_defaults():
    texts = Dataset("words", ["a", "b"], {"train": Split(torch.zeros(4, 8, dtype=torch.int64),
                                                         torch.tensor([0, 1, 0, 1]))}, meta={"kind": "text"})
    cfg = recipes.apply_recipe(TrainConfig(), texts, explicit=set(), default_run=True)
    assert cfg.time is None and cfg.recipe is None
    assert recipes.default_run_notes(cfg, texts, True) == []


def test_the_cli_default_run_says_so_first_and_explicit_epochs_win(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(recipes.DEFAULT_RUN, "time", "3s")  # the 3-minute default, shortened for the test
    args = ["train", "mnist-mini", "--limit", "300", "--threads", "1", "--runs-dir", str(tmp_path / "a")]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == ("note      default run: recipe fast for digit-sized gray images, time budget 3s "
                                   "(choose --epochs N, --time T or --recipe best to change)")
    assert "note      time budget 3s: " in out
    config = json.loads(next((tmp_path / "a").iterdir()).joinpath("config.json").read_text())
    assert (config["recipe"], config["time"], config["model"]) == ("fast", "3s", "fastcnn-patch")
    assert main([*args[:-1], str(tmp_path / "b"), "--epochs", "1", "--model", "dnn"]) == 0
    out = capsys.readouterr().out
    assert "default run" not in out and "time budget" not in out
    config = json.loads(next((tmp_path / "b").iterdir()).joinpath("config.json").read_text())
    assert (config["recipe"], config["time"], config["epochs"]) == (None, None, 1)


def test_many_classes_keep_more_time_for_the_results_plots():
    from cnnlab.training.costs import RESULTS_SECONDS, results_seconds

    assert results_seconds(2) == results_seconds(10) == RESULTS_SECONDS
    assert results_seconds(100) == pytest.approx(RESULTS_SECONDS + 90 * 0.025)  # 100-class plots: ~3.3 s measured
    assert results_seconds(20) == pytest.approx(RESULTS_SECONDS + 10 * 0.025 + 300 * 0.0025)  # numbered cells
    assert results_seconds(20) > results_seconds(21)  # from 21 classes the cells carry no numbers
    cfg = TrainConfig(time="3m")
    few, many = (TimeBudget.create(cfg, time.perf_counter(), 10, 0, 0, "cpu", False, classes=k) for k in (10, 100))
    assert many._final(0.0) - few._final(0.0) == pytest.approx(results_seconds(100) - RESULTS_SECONDS)
