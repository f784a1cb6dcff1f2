"""The training loop's contracts: typed callbacks, stopping, fp16 loss scaling, NaN/inf losses, gradient clipping,
and a final report that scores like `cnnlab evaluate`."""
import io
import math
import warnings
from types import SimpleNamespace

import pytest
import torch

import cnnlab.training.loop as loop
from cnnlab.cli import main
from cnnlab.data.preprocess import Preprocess
from cnnlab.data.rundata import prepare_data
from cnnlab.models import build
from cnnlab.runs.checkpoint import load_checkpoint
from cnnlab.runs.evaluate import predict_logits, report
from cnnlab.runs.rundir import load_run
from cnnlab.training.callbacks import BatchLogs, Callback, CallbackList
from cnnlab.training.config import TrainConfig
from cnnlab.training.console import Console
from cnnlab.training.loop import fit
from cnnlab.training.pipeline import seed_everything, train
from cnnlab.training.distributed import SINGLE
from cnnlab.training.steps import Batches, NonFiniteLoss


def fit_digits(mini, epochs=1, n=256, run_dir=None, callbacks=None, resume=None, **options):
    """fit() of the 2-conv digit model on n mnist-mini digits, 4 steps of 64 per epoch."""
    cfg = TrainConfig(**{**dict(epochs=epochs, batch_size=64, model="mnist-2conv", precision="fp32",
                                schedule="constant", lr=2e-3), **options})
    split = mini["train"].subset(torch.arange(n))
    val = mini["test"].subset(torch.arange(200))
    seed_everything(cfg.seed)
    model = build(cfg.model, mini.input_shape, len(mini.classes))
    result = fit(model, split, val, cfg, Preprocess.fit(split.images, cfg.normalize), mini.classes, run_dir=run_dir,
                 callbacks=callbacks, resume=resume)
    return result, model


@pytest.fixture
def fp16_on_cpu(monkeypatch):
    """The loop's autocast in float16 on the CPU (the precision CUDA GPUs without bf16 train in)."""
    monkeypatch.setattr(loop, "pick_precision", lambda precision, device: torch.float16)


# ── callbacks ────────────────────────────────────────────────────────────────────────────────────────────
def test_a_misspelt_hook_is_refused_when_the_class_is_defined():
    with pytest.raises(TypeError, match="on_epoch_ned is not a callback hook; the hooks are on_run_begin"):
        class Typo(Callback):
            def on_epoch_ned(self, state, metrics):
                pass


def test_a_plain_function_is_not_a_callback():
    with pytest.raises(TypeError, match="must be cnnlab.training.callbacks.Callback objects.*got function"):
        CallbackList([lambda event, info: None])


def test_a_callback_stops_training_after_the_epoch_and_the_console_says_why(mini, tmp_path):
    class StopAfterTwo(Callback):
        def on_epoch_end(self, state, metrics):
            if state.epoch == 2:
                state.stop_training, state.stop_reason = True, "stopped by StopAfterTwo"

    out = io.StringIO()
    result, _ = fit_digits(mini, epochs=5, run_dir=tmp_path, callbacks=[StopAfterTwo(), Console(out, bar=False)])
    assert [r["epoch"] for r in result.history] == [1, 2] and result.stopped_early
    assert load_checkpoint(tmp_path / "last.pt")["epoch"] == 2
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("model     ") and "4 steps per epoch" in lines[0]
    assert lines[1].startswith("epoch   1  loss ") and "val_acc" in lines[1] and lines[1].endswith("*")
    assert lines[-1] == "stopped by StopAfterTwo" and len(lines) == 4


def test_early_stopping_is_a_callback_that_reads_the_best_epoch_tracking(mini):
    # a learning rate this high makes the validation loss stall, so patience 1 stops early
    result, _ = fit_digits(mini, epochs=6, lr=0.5, optimizer="sgd", monitor="val_loss", early_stopping=True,
                           patience=1)
    assert result.stopped_early and len(result.history) == result.best_epoch + 1 < 6


def test_batch_logs_come_every_ten_steps_and_at_the_epochs_end(mini):
    steps = []

    class Steps(Callback):
        def on_batch_end(self, state, logs):
            steps.append((logs.epoch, logs.step, logs.steps))
            assert logs.acc is not None and logs.mae is None and logs.loss > 0

    fit_digits(mini, epochs=1, n=8 * 12, batch_size=8, callbacks=[Steps()])
    assert steps == [(1, 10, 12), (1, 12, 12)]


def test_the_console_draws_a_bar_per_epoch_and_prints_a_line_per_epoch():
    out = io.StringIO()
    console = Console(out, bar=True)
    state = SimpleNamespace(epoch=1, epochs=2, steps_per_epoch=4, improved=False, stop_reason=None)
    console.on_epoch_begin(state)
    console.on_batch_end(state, BatchLogs(1, 2, 4, loss=0.5, acc=None, mae=1.25, images_per_s=100))
    assert "epoch 1/2" in out.getvalue() and "mae=1.2500" in out.getvalue()
    console.on_epoch_end(state, {"epoch": 1, "train_loss": 0.5, "train_mae": 1.25, "val_loss": 0.6, "val_mae": 1.5,
                                 "train_images_per_s": 100.0, "seconds": 2.0})
    assert console.bar is None
    assert out.getvalue().splitlines()[-1] == ("epoch   1  loss 0.5000  mae 1.2500  val_loss 0.6000  val_mae 1.5000  "
                                               "100 img/s  2.0s")


# ── fp16: loss scaling ───────────────────────────────────────────────────────────────────────────────────
def test_fp16_trains_with_a_grad_scaler_whose_state_is_in_last_pt(mini, tmp_path, fp16_on_cpu):
    seen = []

    class Precision(Callback):
        def on_train_begin(self, state):
            seen.append((state.precision, state.scaler.is_enabled()))

    result, _ = fit_digits(mini, epochs=1, n=128, run_dir=tmp_path, callbacks=[Precision()])
    assert seen == [("float16", True)]
    scaler = load_checkpoint(tmp_path / "last.pt")["scaler_state"]
    assert scaler["scale"] > 1 and set(scaler) >= {"growth_factor", "backoff_factor", "_growth_tracker"}
    assert load_checkpoint(tmp_path / "best.pt")["scaler_state"] is None
    assert math.isfinite(result.history[0]["train_loss"]) and result.history[0]["val_acc"] > 0


def test_fp16_steps_the_scaler_skips_keep_the_schedule_and_warn_nobody(mini, fp16_on_cpu):
    seen = []

    class HugeScale(Callback):  # the first steps' scaled gradients overflow fp16: the scaler skips them
        def on_train_begin(self, state):
            state.scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 60)

        def on_train_end(self, state):
            seen.append((state.scaler.get_scale(), state.scheduler.last_epoch))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit_digits(mini, epochs=1, n=128, optimizer="rmsprop", callbacks=[HugeScale()])  # not fused: skips in Python
    assert seen[0][0] < 2.0 ** 60 and seen[0][1] == 2  # scale backed off; the schedule moved on every batch
    assert not [w for w in caught if "lr_scheduler" in str(w.message)]


def test_fp16_resume_continues_exactly(mini, tmp_path, fp16_on_cpu):
    straight, _ = fit_digits(mini, epochs=2, n=128)

    class InterruptAfterFirstEpoch(Callback):
        def on_epoch_end(self, state, metrics):
            if state.epoch == 1:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fit_digits(mini, epochs=2, n=128, run_dir=tmp_path, callbacks=[InterruptAfterFirstEpoch()])
    state = load_checkpoint(tmp_path / "last.pt")
    resumed, _ = fit_digits(mini, epochs=2, n=128, resume=state)
    assert resumed.history[1]["train_loss"] == straight.history[1]["train_loss"]


def test_fp32_runs_have_a_disabled_scaler_and_old_checkpoints_resume(mini, tmp_path):
    fit_digits(mini, epochs=1, run_dir=tmp_path)
    state = load_checkpoint(tmp_path / "last.pt")
    assert state["scaler_state"] == {}
    del state["scaler_state"], state["step"]  # as written before the scaler was saved
    resumed, _ = fit_digits(mini, epochs=2, resume=state)
    assert [r["epoch"] for r in resumed.history] == [1, 2]


# ── numerics that fail loudly ────────────────────────────────────────────────────────────────────────────
def test_a_nan_loss_stops_at_its_step_and_keeps_the_last_finite_epoch(mini, tmp_path):
    class Poison(Callback):  # what a diverging run does to the weights, made certain
        def on_epoch_begin(self, state):
            if state.epoch == 2:
                with torch.no_grad():
                    next(state.model.parameters()).fill_(float("nan"))

    with pytest.raises(NonFiniteLoss, match=r"^epoch 2, step 1: the training loss became nan; the learning rate "
                                            r"\(0.002\) is likely too high \(lower --lr or try --clip-grad 1\); "
                                            r"the run directory keeps the checkpoints of epoch 1$"):
        fit_digits(mini, epochs=3, run_dir=tmp_path, callbacks=[Poison()])
    assert load_checkpoint(tmp_path / "last.pt")["epoch"] == 1
    assert load_checkpoint(tmp_path / "best.pt")["epoch"] == 1
    assert (tmp_path / "history.csv").read_text().count("\n") == 2  # the header and epoch 1


def test_a_diverging_cli_run_exits_non_zero_with_one_line(tmp_path, capsys):
    code = main(["train", "mnist-mini", "--limit", "300", "--epochs", "3", "--model", "mnist-2conv",
                 "--optimizer", "sgd", "--lr", "1e4", "--schedule", "constant", "--runs-dir", str(tmp_path),
                 "--run-name", "nan", "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert err.startswith("error: epoch 1, step ") and "likely too high" in err and "--clip-grad" in err
    assert not (tmp_path / "nan" / "metrics.json").exists()


def test_clip_grad_bounds_every_step(mini):
    # plain SGD moves the weights by lr × the (clipped) gradient: at most lr × clip_grad per step
    seed_everything(0)
    before = torch.cat([p.detach().flatten() for p in build("mnist-2conv", mini.input_shape, 10).parameters()])
    _, model = fit_digits(mini, epochs=1, optimizer="sgd", momentum=0.0, lr=1.0, clip_grad=1e-3)
    after = torch.cat([p.detach().flatten() for p in model.parameters()])
    assert 0 < (after - before).norm() <= 4 * 1.0 * 1e-3 * (1 + 1e-4)
    _, free = fit_digits(mini, epochs=1, optimizer="sgd", momentum=0.0, lr=1.0)
    assert (torch.cat([p.detach().flatten() for p in free.parameters()]) - before).norm() > 0.1


def test_clip_grad_under_the_fp16_scaler_clips_the_unscaled_gradients(mini, fp16_on_cpu):
    seed_everything(0)
    before = torch.cat([p.detach().flatten() for p in build("mnist-2conv", mini.input_shape, 10).parameters()])
    _, model = fit_digits(mini, epochs=1, n=128, optimizer="sgd", momentum=0.0, lr=1.0, clip_grad=1e-3)
    moved = (torch.cat([p.detach().flatten() for p in model.parameters()]) - before).norm()
    assert 1e-3 * 0.5 <= moved <= 2 * 1e-3 * 1.01  # scaled gradients clipped would move ~65536× less


def test_clip_grad_must_be_positive():
    with pytest.raises(ValueError, match="clip_grad must be a norm > 0, got 0"):
        TrainConfig(clip_grad=0)


# ── one figure per model ─────────────────────────────────────────────────────────────────────────────────
def test_the_final_report_of_a_bf16_run_is_what_evaluate_scores(tmp_path, capsys):
    cfg = TrainConfig(data="mnist-mini", limit=300, epochs=1, model="mnist-2conv", batch_size=64, precision="bf16",
                      runs_dir=str(tmp_path))
    result = train(cfg)
    run = load_run(result.run_dir)
    val = prepare_data(run.config)["val"]
    logits = predict_logits(run.model, val.images, run.preprocess, torch.device("cpu"), None, 1024,
                            run.config.channels_last, run.config.tta)
    assert report(logits, val.labels, run.classes).headline == result.reports["val"].headline
    assert main(["evaluate", str(result.run_dir), "--split", "val"]) == 0
    printed = dict(line.split(" ") for line in capsys.readouterr().out.splitlines() if line.startswith("val_"))
    assert printed == {f"val_{k}": f"{v:.4f}" for k, v in result.reports["val"].headline.items()}


def test_micro_batches_accumulate_the_same_gradient_and_loss_as_the_whole_batch():
    import contextlib

    from torch import nn

    from cnnlab.training.steps import forward_backward

    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(12, 4))
    x, y = torch.randn(10, 3, 2, 2), torch.randint(0, 4, (10,))
    loss_fn = nn.functional.cross_entropy
    grads = {}
    for micro in (None, 3, 10, 64):
        net.zero_grad()
        penalty = 1e-3 * net[1].weight.square().sum()  # an l2 term: counted once per step, not per piece
        logits, loss = forward_backward(net, x, y, loss_fn, lambda v: v, micro, contextlib.nullcontext, penalty)
        assert logits.shape == (10, 4)
        grads[micro] = (loss.item(), net[1].weight.grad.clone(), net[1].bias.grad.clone())
    whole = grads[None]
    for micro in (3, 10, 64):
        assert grads[micro][0] == pytest.approx(whole[0], rel=1e-6)
        assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(grads[micro][1:], whole[1:]))


def test_batches_carry_each_images_index_in_the_split(mini):
    split = mini["train"].subset(torch.arange(300))
    cfg = TrainConfig(batch_size=64)
    batches = Batches(split, cfg, 10, SINGLE, torch.device("cpu"))
    seen = []
    for raw, y, idx in batches.epoch(torch.Generator().manual_seed(0)):
        assert torch.equal(raw, split.images[idx]) and torch.equal(y, split.labels[idx])
        seen.append(idx)
    assert sorted(torch.cat(seen).tolist()) == list(range(300))


@pytest.mark.parametrize("schedule, refused", [("onecycle", True), ("cosine", True), ("linear", True),
                                               ("constant", False)])
def test_resuming_with_other_epochs_refuses_schedules_that_would_stretch(schedule, refused):
    """A linear schedule rebuilt for more epochs than it ran would raise a rate that had reached 0 again."""
    state = SimpleNamespace(load_state_dict=lambda resume: None)
    cfg = TrainConfig(data="mnist-mini", epochs=5, schedule=schedule)
    if refused:
        with pytest.raises(ValueError, match=f"{schedule} schedule was planned for 2 epochs; resume it with --epochs 2"):
            loop.restore(state, {"config": {"epochs": 2}}, cfg)
    else:
        loop.restore(state, {"config": {"epochs": 2}}, cfg)
