"""The benchmark harness stays alive: a smoke run of `cnnlab bench mnist` on a few hundred images."""
import json
import time
from pathlib import Path

import pytest

from cnnlab.bench.tasks import Measurement, cpu_bf16, markdown, summarize
from cnnlab.cli import main


def test_bench_mnist_smoke(tmp_path, capsys, data_dir, monkeypatch):
    monkeypatch.setenv("CNNLAB_DATA", str(data_dir))
    code = main(["bench", "mnist", "--smoke", "--only", "fast", "slide", "--out", str(tmp_path / "results"),
                 "--runs-dir", str(tmp_path / "runs")])
    out = capsys.readouterr().out
    assert code == 0
    results = json.loads((tmp_path / "results" / "mnist-smoke.json").read_text())
    assert set(results["entries"]) == {"fast", "slide"} and results["machine"]["cores"] >= 1
    table = (tmp_path / "results" / "mnist-smoke.md").read_text()
    assert "| fast |" in table and "reference" in table
    assert [line.split()[-1] for line in out.splitlines() if line.startswith("test_acc ")] == ["fast", "slide"]
    run = results["entries"]["fast"]["runs"][0]
    assert run["epochs"] and run["train_images_per_s"] > 0 and run["infer_images_per_s"] > 0 and run["peak_mb"] > 50


def test_bench_time_budget_smoke_ends_on_time_with_the_fast_recipe(tmp_path, data_dir, monkeypatch):
    monkeypatch.setenv("CNNLAB_DATA", str(data_dir))
    code = main(["bench", "mnist-time", "--smoke", "--only", "1 min", "--out", str(tmp_path / "results"),
                 "--runs-dir", str(tmp_path / "runs")])
    assert code == 0
    run = json.loads((tmp_path / "results" / "mnist-time-smoke.json").read_text())["entries"]["1 min"]["runs"][0]
    config = json.loads((Path(run["run_dir"]) / "config.json").read_text())
    assert (config["recipe"], config["time"], config["model"]) == ("fast", "10s", "fastcnn-patch")
    assert run["wall_seconds"] < 10 + 15  # the budget counts from training's set-up: imports and start-up on top


def test_time_to_threshold_and_ratios():
    fast = Measurement("fast", 10.0, 0.993, epochs=[{"epoch": 1, "test_acc": 0.99, "seconds": 5.0},
                                                    {"epoch": 2, "test_acc": 0.994, "seconds": 9.0}])
    slow = Measurement("slow", 100.0, 0.992, epochs=[{"epoch": 12, "test_acc": 0.992, "seconds": 95.0}])
    assert fast.time_to(0.99) == 5.0 and fast.time_to(0.993) == 9.0 and slow.time_to(0.993) is None
    results = {"task": "t", "data": "d", "smoke": False, "thresholds": [0.99, 0.993], "course": {},
               "machine": {"cpu": "x", "cores": 2, "torch": "2", "date": "today"},
               "entries": {"fast": {"reference": False, "runs": [fast.__dict__]},
                           "slow": {"reference": True, "runs": [slow.__dict__]}}}
    rows = {r["entry"]: r for r in summarize(results)}
    assert rows["fast"]["ratio"] == 0.1 and rows["slow"]["ratio"] == 1.0
    assert "0.10×" in markdown(results)
    assert " on x, 2 cores, torch 2, today." in markdown(results)  # results saved before the bf16 field
    results["machine"]["cpu_bf16"] = "AVX-512 BF16, no AMX: fp32"
    assert " on x (AVX-512 BF16, no AMX: fp32), 2 cores, torch 2, today." in markdown(results)


@pytest.mark.parametrize("cpuinfo, text", [
    ("vendor_id : GenuineIntel\nflags : avx512f avx512_bf16 amx_bf16 amx_tile\n", "AMX: bf16"),
    ("vendor_id : GenuineIntel\nflags : avx512f avx512_bf16\n", "AVX-512 BF16, no AMX: fp32"),
    ("vendor_id : AuthenticAMD\nflags : avx512f avx512_bf16\n", "AVX-512 BF16, no AMX: bf16"),
    ("vendor_id : GenuineIntel\nflags : avx2\n", "no native bf16: fp32")])
def test_bench_tables_say_what_the_cpu_has_for_bf16(cpuinfo, text):
    assert cpu_bf16(cpuinfo) == text


def test_course_table_shows_epochs_and_the_course_figures():
    run = Measurement("simple DNN", 12.0, 0.40, train_acc=0.37, val_acc=0.40,
                      epochs=[{"epoch": e, "test_acc": 0.3 + e / 100, "seconds": 1.0 * e} for e in (1, 2, 3)])
    results = {"task": "fer-baselines", "data": "fer2013", "smoke": False, "thresholds": [0.45],
               "course": {"simple DNN": (0.64, 0.43)}, "machine": {"cpu": "x", "cores": 2, "torch": "2", "date": "d"},
               "entries": {"simple DNN": {"reference": True, "runs": [run.__dict__]}}}
    table = markdown(results)
    assert "| epochs | train acc | val acc | course train / val |" in table
    assert table.splitlines()[2].endswith("| 3 | 37.0% | 40.0% | 64% / 43% |")


def test_bench_ensemble_smoke_adds_a_row_for_the_members_average(tmp_path, capsys, data_dir, monkeypatch):
    monkeypatch.setenv("CNNLAB_DATA", str(data_dir))
    code = main(["bench", "mnist-ensemble", "--smoke", "--only", "digitnet s0", "digitnet s1",
                 "--out", str(tmp_path / "results"), "--runs-dir", str(tmp_path / "runs")])
    out = capsys.readouterr().out
    assert code == 0
    results = json.loads((tmp_path / "results" / "mnist-ensemble-smoke.json").read_text())
    assert list(results["entries"]) == ["digitnet s0", "digitnet s1", "ensemble of 2"]
    ens = results["entries"]["ensemble of 2"]
    assert ens["args"] == ["digitnet s0", "digitnet s1"]
    members = [results["entries"][f"digitnet s{s}"]["runs"][0] for s in (0, 1)]
    run = ens["runs"][0]
    assert 0 <= run["test_acc"] <= 1 and run["wall_seconds"] > sum(m["wall_seconds"] for m in members)
    saved = json.loads((Path(run["run_dir"]) / "ensemble.json").read_text())
    assert len(saved["members"]) == 2
    assert "| ensemble of 2 |" in (tmp_path / "results" / "mnist-ensemble-smoke.md").read_text()
    assert f"test_acc {run['test_acc']:.4f} ensemble of 2" in out


def test_faces_benches_time_the_users_command_and_take_the_curve_from_validation(tmp_path, monkeypatch):
    from cnnlab.bench import tasks

    commands = []
    monkeypatch.setattr(tasks, "_run_process", lambda name, cmd, env: (commands.append(cmd) or {}, "", 0.7, 1.0, 9.0))
    for name in ("fer2013", "fer2013-time", "mnist"):
        tasks.run_entry(tasks.TASKS[name].entries[0], tasks.TASKS[name], [], False, tmp_path, {})
    assert ["--track-test" in cmd for cmd in commands] == [False, False, True]
    assert commands[0][commands[0].index("train"):][:4] == ["train", "fer2013", "--recipe", "best"]
    results = {"task": "fer2013", "data": "fer2013", "smoke": False, "thresholds": [0.6], "course": {},
               "track_test": False, "machine": {"cpu": "x", "cores": 2, "torch": "2", "date": "d"},
               "entries": {"fer": {"reference": True, "runs": [Measurement("fer", 5.0, 0.7).__dict__]}}}
    assert "validation accuracy first reached" in markdown(results)
    assert "validation accuracy" not in markdown({**results, "track_test": True})


def test_a_one_epoch_budget_run_takes_its_time_to_accuracy_from_the_final_report(tmp_path, monkeypatch):
    from cnnlab.bench import tasks

    run = tmp_path / "run"
    run.mkdir()
    start = time.time()
    (run / "history.csv").write_text("epoch,lr,train_loss,train_acc,val_loss,val_acc,seconds,train_images_per_s,time\n"
                                     f"1,0,1.5,0.6,,,120.0,340.0,{start + 150:.3f}\n")  # the only epoch: unscored
    monkeypatch.setattr(tasks, "_run_process", lambda name, cmd, env: ({"run_dir": str(run), "val_acc": "0.81"}, "",
                                                                         0.81, 171.0, 9.0))
    monkeypatch.setattr(tasks, "inference_speed", lambda *args: 1.0)
    m = tasks.run_entry(tasks.TASKS["fer2013-time"].entries[0], tasks.TASKS["fer2013-time"], [], False, tmp_path, {})
    assert m.epochs == [{"epoch": 1, "test_acc": 0.81, "seconds": 171.0}] and m.time_to(0.8) == 171.0


@pytest.fixture
def ablation():
    """bench/ablation.py, loaded as a module."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("ablation_script",
                                                  Path(__file__).resolve().parents[1] / "bench" / "ablation.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ablation_scores_tta_variants_from_the_recipes_run_without_training_again(ablation, monkeypatch, capsys):
    import subprocess
    import sys

    calls = []

    def fake_run(argv, **kwargs):  # a `cnnlab train` prints its run dir and val_acc; `cnnlab evaluate` its val_acc
        calls.append(argv[3:])
        if argv[3] == "train":
            out = f"run_dir runs/ablation/run{len(calls)}\nval_acc 0.9000\n"
        else:
            out = "cifar10-jpg / val split\nval_acc 0.8800\n"
        return subprocess.CompletedProcess(argv, 0, out, "")

    monkeypatch.setattr(ablation.subprocess, "run", fake_run)
    monkeypatch.setattr(sys, "argv", ["ablation.py", "--task", "cifar10", "--repeats", "1", "--only", "no TTA"])
    ablation.main()
    assert [c[0] for c in calls] == ["train", "evaluate"]  # one training: the recipe; the variant is a rescoring
    assert calls[1] == ["evaluate", "runs/ablation/run1", "--tta", "none"]
    table = capsys.readouterr().out
    assert "| fast recipe |" in table and "0.9000" in table
    assert "| no TTA | the recipe's runs, scored again in" in table and "0.8800" in table


def test_ablation_tries_bf16_where_the_recipe_already_trains_in_fp32(ablation, monkeypatch, capsys):
    import subprocess
    import sys

    calls = []

    def fake_run(argv, **kwargs):
        calls.append(argv[3:])
        return subprocess.CompletedProcess(argv, 0, f"run_dir runs/ablation/run{len(calls)}\ntest_acc 0.9900\n", "")

    monkeypatch.setattr(ablation.subprocess, "run", fake_run)
    monkeypatch.setattr(ablation, "cpu_bf16_pays", lambda: False)  # e.g. an Intel CPU without AMX
    monkeypatch.setattr(sys, "argv", ["ablation.py", "--repeats", "1", "--only", "fp32 instead of bf16 autocast"])
    ablation.main()
    assert calls[1][-2:] == ["--precision", "bf16"] and "--precision" not in calls[0]
    table = capsys.readouterr().out
    assert "| bf16 autocast instead of fp32 |" in table and "fp32 instead of bf16" not in table
