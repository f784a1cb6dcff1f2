import csv

import pytest
import torch

from cnnlab.runs.checkpoint import CheckpointError, load_checkpoint
from cnnlab.training.config import TrainConfig
from cnnlab.runs.rundir import load_run, summary_line
from cnnlab.training.callbacks import Callback
from cnnlab.training.pipeline import stratified_split, train

FAST = dict(model="mnist-2conv", batch_size=64, limit=600, eval_batch_size=512)


def cfg(tmp_path, **kw):
    return TrainConfig(data="mnist-mini", runs_dir=str(tmp_path / "runs"), **{**FAST, **kw})


class Hooks(Callback):
    """Records the hooks called, in order."""

    def __init__(self):
        self.calls = []

    def on_run_begin(self, info):
        self.calls.append("on_run_begin")

    def on_train_begin(self, state):
        self.calls.append("on_train_begin")

    def on_epoch_begin(self, state):
        self.calls.append("on_epoch_begin")

    def on_batch_end(self, state, logs):
        self.calls.append("on_batch_end")

    def on_epoch_end(self, state, metrics):
        self.calls.append("on_epoch_end")

    def on_train_end(self, state):
        self.calls.append("on_train_end")

    def on_run_end(self, result):
        self.calls.append("on_run_end")


class InterruptAfterFirstEpoch(Callback):
    def on_epoch_end(self, state, metrics):
        if state.epoch == 1:
            raise KeyboardInterrupt


def test_run_directory_has_every_file_and_sane_metrics(tmp_path):
    hooks = Hooks()
    result = train(cfg(tmp_path, epochs=2), [hooks])
    names = {p.name for p in result.run_dir.iterdir()}
    assert {"config.json", "history.csv", "best.pt", "last.pt", "metrics.json", "curves.png",
            "confusion_matrix.png", "summary.txt"} <= names
    rows = list(csv.DictReader(open(result.run_dir / "history.csv")))
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert result.reports["test"].accuracy > 0.6  # 600 images, 2 epochs
    assert (result.run_dir / "summary.txt").read_text().splitlines()[-1].startswith("best val_acc ")
    assert hooks.calls[:3] == ["on_run_begin", "on_train_begin", "on_epoch_begin"]
    assert hooks.calls[-3:] == ["on_epoch_end", "on_train_end", "on_run_end"]
    assert hooks.calls.count("on_epoch_end") == 2 and hooks.calls.count("on_batch_end") >= 2
    assert result.run_dir.name.endswith("-mnist-mini-mnist-2conv")


def test_summary_line_names_the_kept_epoch_without_a_validation_split():
    assert summary_line("val_acc", 0.99314, 3) == "best val_acc 0.9931 (epoch 3)"
    assert summary_line("val_acc", None, 19) == "kept epoch 19 (the last: no labelled validation split to choose on)"


def test_same_seed_same_result(tmp_path):
    a = train(cfg(tmp_path, epochs=1, seed=3))
    b = train(cfg(tmp_path, epochs=1, seed=3))
    assert a.fit.history[0]["train_loss"] == b.fit.history[0]["train_loss"]
    assert a.reports["test"].accuracy == b.reports["test"].accuracy


def test_resume_continues_exactly(tmp_path):
    straight = train(cfg(tmp_path, epochs=2, run_name="straight", precision="fp32"))
    with pytest.raises(KeyboardInterrupt):
        train(cfg(tmp_path, epochs=2, run_name="split", precision="fp32"), [InterruptAfterFirstEpoch()])
    run_dir = tmp_path / "runs" / "split"
    state = load_checkpoint(run_dir / "last.pt")
    assert state["epoch"] == 1
    resumed = train(TrainConfig.from_dict(state["config"]), resume_dir=run_dir)
    assert resumed.run_dir == run_dir
    assert [r["epoch"] for r in resumed.fit.history] == [1, 2]
    assert resumed.fit.history[1]["train_loss"] == pytest.approx(straight.fit.history[1]["train_loss"], rel=1e-6)
    a = load_checkpoint(straight.run_dir / "last.pt")["model_state"]
    b = load_checkpoint(run_dir / "last.pt")["model_state"]
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)


def test_resume_cannot_stretch_a_onecycle_schedule(tmp_path):
    first = train(cfg(tmp_path, epochs=1))
    state = load_checkpoint(first.run_dir / "last.pt")
    with pytest.raises(ValueError, match="planned for 1 epochs; resume it with --epochs 1"):
        train(TrainConfig.from_dict({**state["config"], "epochs": 3}), resume_dir=first.run_dir)


def test_early_stopping_and_restore_best(tmp_path):
    # a learning rate this high makes validation accuracy stall, so patience 1 stops early
    result = train(cfg(tmp_path, epochs=8, early_stopping=True, patience=1, lr=0.5, optimizer="sgd",
                       schedule="constant", monitor="val_loss"))
    assert result.fit.stopped_early and len(result.fit.history) < 8
    best = load_checkpoint(result.run_dir / "best.pt")
    assert best["epoch"] == result.fit.best_epoch


@pytest.mark.parametrize("options", [
    dict(optimizer="sgd", nesterov=True, schedule="step", step_epochs=1),
    dict(optimizer="rmsprop", schedule="cosine", loss="bce"),
    dict(optimizer="adadelta", loss="mse", l2=1e-4, normalize="featurewise"),
    dict(optimizer="adagrad", l1=1e-5, balance="weights", label_smoothing=0.1),
    dict(optimizer="adamw", weight_decay=0.01, balance="sampler", normalize="none"),
])
def test_every_loss_optimizer_schedule_and_option_trains(tmp_path, options):
    result = train(cfg(tmp_path, epochs=3, **options))
    assert result.reports["test"].accuracy > 0.2  # twice chance after 3 short epochs: it learns
    assert result.fit.history[-1]["train_loss"] < result.fit.history[0]["train_loss"]


def test_checkpoint_loads_weights_only_and_code_is_refused(tmp_path):
    result = train(cfg(tmp_path, epochs=1))
    run = load_run(result.run_dir)
    assert run.classes == [str(i) for i in range(10)] and run.input_shape == (1, 28, 28)
    evil = tmp_path / "evil.pt"

    class Payload:
        def __reduce__(self):
            return (print, ("this would run",))

    torch.save({"format": "cnnlab-checkpoint", "payload": Payload()}, evil)
    with pytest.raises(CheckpointError, match="refused: the file contains pickled Python objects"):
        load_checkpoint(evil)


def test_stratified_split_keeps_class_balance(mini):
    train_part, val_part = stratified_split(mini["train"], 0.1, seed=0)
    assert len(train_part) + len(val_part) == 6000
    counts = val_part.class_counts(10)
    full = mini["train"].class_counts(10)
    assert all(abs(c - f * 0.1) <= 1 for c, f in zip(counts, full))


def _schedule_trace(c: TrainConfig, steps: int) -> list[dict]:
    """The first parameter group's settings (lr, momentum / betas) before each of `steps` one-epoch steps, and
    after the last, under c's optimizer and schedule."""
    from cnnlab.training.optim import build_optimizer, build_scheduler

    optimizer = build_optimizer(c, torch.nn.Linear(2, 2))
    scheduler = build_scheduler(c, optimizer, steps)
    trace = [dict(optimizer.param_groups[0])]
    for _ in range(steps):
        optimizer.step()
        scheduler.step()
        trace.append(dict(optimizer.param_groups[0]))
    return trace


@pytest.mark.parametrize("steps", [1, 3, 5, 40])
def test_onecycle_rate_stays_positive_to_the_last_step(steps):
    rates = [group["lr"] for group in _schedule_trace(TrainConfig(epochs=1, lr=0.01), steps)[1:]]
    assert min(rates) > 0 and max(rates) <= 0.01 + 1e-12


@pytest.mark.parametrize("momentum, highest", [(0.85, 0.95), (0.5, 0.95), (0.97, 0.97)])
def test_onecycle_sgd_momentum_is_the_configured_one_at_the_peak_rate(momentum, highest):
    """--momentum is what SGD's one-cycle reaches at the peak rate (it starts and ends at max(momentum, 0.95))."""
    c = TrainConfig(epochs=1, lr=0.1, optimizer="sgd", momentum=momentum, schedule="onecycle")
    seen = [(group["lr"], group["momentum"]) for group in _schedule_trace(c, 100)[:100]]
    assert seen[0][1] == pytest.approx(highest) and seen[-1][1] == pytest.approx(highest, abs=0.02)
    assert max(seen)[1] == pytest.approx(momentum, abs=0.01)  # the momentum at the highest rate


def test_onecycle_adam_cycles_beta1_from_095_to_085():
    c = TrainConfig(epochs=1, lr=0.01, optimizer="adamw", schedule="onecycle")
    betas = [group["betas"][0] for group in _schedule_trace(c, 100)[:100]]
    assert betas[0] == pytest.approx(0.95) and min(betas) == pytest.approx(0.85, abs=0.01)


def test_imbalance_note_names_the_largest_and_smallest_class_and_the_remedy():
    from cnnlab.training.optim import imbalance_note

    note = imbalance_note([2000, 1000, 0, 50], ["plane", "car", "bird", "dog"], "none")
    assert note.startswith("imbalanced classes: 2,000 training images of plane, 50 of dog (40×)")
    assert "--balance weights" in note and "balanced accuracy" in note
    assert imbalance_note([2000, 1000, 50], ["a", "b", "c"], "weights") is None  # the run balances them already
    assert imbalance_note([100, 11], ["a", "b"], "none") is None  # under 10×
    assert imbalance_note([100, 10], ["a", "b"], "none") is not None
    assert imbalance_note([100, 0], ["a", "b"], "none") is None  # one class present: nothing to weigh


def test_a_run_on_imbalanced_classes_says_so_once_before_training(tmp_path):
    import io

    from cnnlab.data import Dataset, Split
    from cnnlab.training.console import Console

    gen = torch.Generator().manual_seed(0)
    labels = torch.tensor([0] * 110 + [1] * 10)
    images = (torch.randint(0, 60, (120, 1, 12, 12), generator=gen) + 150 * labels[:, None, None, None]).to(torch.uint8)
    data = Dataset("skewed", ["common", "rare"], {"train": Split(images, labels)})
    out = io.StringIO()
    train(cfg(tmp_path, epochs=1, val_split=0.0), [Console(stream=out, bar=False)], data=data)
    assert out.getvalue().count("imbalanced classes: 110 training images of common, 10 of rare (11×)") == 1
    out = io.StringIO()
    train(cfg(tmp_path, epochs=1, val_split=0.0, balance="sampler"), [Console(stream=out, bar=False)],
          data=data)
    assert "imbalanced classes:" not in out.getvalue()


def test_class_weights_weigh_each_image_by_its_own_class_and_leave_label_smoothing_uniform():
    from cnnlab.training.optim import build_loss, class_weights

    weights = class_weights([2000, 1000, 50])  # the rare class weighs 40× the common one
    loss = build_loss("cross_entropy", 3, weights, label_smoothing=0.2)
    logits = torch.zeros(4, 3, requires_grad=True)
    y = torch.tensor([0, 0, 0, 1])
    loss(logits, y).backward()
    grad = logits.grad
    # uniform predictions of common-class images: their smoothing pulls no class up more than another
    assert grad[0, 1] == pytest.approx(grad[0, 2]) and grad[0, 0] < 0 < grad[0, 1]
    per_image = build_loss("cross_entropy", 3, weights, label_smoothing=0.2)
    logits = torch.randn(4, 3, generator=torch.Generator().manual_seed(1))
    expected = (torch.nn.functional.cross_entropy(logits, y, reduction="none", label_smoothing=0.2) * weights[y]).sum() \
        / weights[y].sum()
    assert per_image(logits, y) == pytest.approx(float(expected), rel=1e-6)
    unweighted = build_loss("cross_entropy", 3, None, label_smoothing=0.1)
    assert unweighted(logits, y) == pytest.approx(float(torch.nn.functional.cross_entropy(logits, y,
                                                                                          label_smoothing=0.1)))


def test_balanced_runs_choose_their_best_epoch_by_balanced_accuracy(tmp_path):
    from cnnlab.data import Dataset, Split
    from cnnlab.training.recipes import apply_recipe

    gen = torch.Generator().manual_seed(0)
    labels = torch.tensor([0] * 150 + [1] * 15 + [2] * 15)
    images = (torch.randint(0, 60, (180, 1, 12, 12), generator=gen)
              + 60 * labels[:, None, None, None]).to(torch.uint8)
    train_split, val_split = stratified_split(Split(images, labels), 0.3, 0)
    data = Dataset("skewed", ["common", "rare", "rarer"], {"train": train_split, "val": val_split})
    assert apply_recipe(TrainConfig(balance="weights"), data).monitor == "val_balanced_acc"
    assert apply_recipe(TrainConfig(balance="sampler", recipe="fast"), data).monitor == "val_balanced_acc"
    chosen = TrainConfig(balance="weights", monitor="val_loss")
    assert apply_recipe(chosen, data, explicit={"balance", "monitor"}).monitor == "val_loss"  # the user's stays
    assert apply_recipe(TrainConfig(), data).monitor == "val_acc"
    import io

    from cnnlab.training.console import Console

    out = io.StringIO()
    result = train(cfg(tmp_path, epochs=3, balance="weights"), [Console(stream=out, bar=False)], data=data)
    assert result.fit.monitor == "val_balanced_acc"
    epochs = [line for line in out.getvalue().splitlines() if line.startswith("epoch")]
    assert len(epochs) == 3 and all("val_balanced_acc 0." in line for line in epochs)  # what the * follows
    rows = [r["val_balanced_acc"] for r in result.fit.history]
    assert result.fit.best_value == max(rows) and result.fit.history[result.fit.best_epoch - 1][
        "val_balanced_acc"] == max(rows)
    with open(result.run_dir / "history.csv") as f:
        assert "val_balanced_acc" in next(csv.reader(f))
    assert summary_line(result.fit.monitor, result.fit.best_value, result.fit.best_epoch).startswith(
        "best val_balanced_acc ")
    plain = train(cfg(tmp_path, epochs=1), data=data)
    with open(plain.run_dir / "history.csv") as f:
        assert "val_balanced_acc" not in next(csv.reader(f))  # a column only where it chose the epoch


def test_the_balanced_monitor_counts_higher_as_better():
    from cnnlab.training.state import HIGHER_IS_BETTER
    assert "val_balanced_acc" in HIGHER_IS_BETTER and "val_acc" in HIGHER_IS_BETTER
