"""`--init-from RUN|FILE.pt`: every tensor whose name and shape match is loaded, the classifier head stays new."""
import numpy as np
import pytest
import torch
from PIL import Image

from cnnlab.cli import main
from cnnlab.models import build
from cnnlab.runs.checkpoint import CheckpointError
from cnnlab.runs.init import head_keys, init_from
from cnnlab.training.config import TrainConfig
from cnnlab.training.pipeline import train


@pytest.fixture(scope="module")
def ten_class_run(tmp_path_factory):
    """A 10-class mnist-2conv run on 300 mnist-mini digits, one epoch."""
    runs = tmp_path_factory.mktemp("runs")
    return train(TrainConfig(data="mnist-mini", model="mnist-2conv", limit=300, epochs=1, batch_size=64,
                             eval_batch_size=512, runs_dir=str(runs))).run_dir


def test_run_to_another_number_of_classes_loads_all_but_the_head(ten_class_run):
    model = build("mnist-2conv", (1, 28, 28), 4)
    head = {k: v.clone() for k, v in model.state_dict().items() if k in head_keys(model, 4)}
    report = init_from(model, ten_class_run, ["a", "b", "c", "d"])
    source = torch.load(ten_class_run / "best.pt", weights_only=True)["model_state"]
    total = len(model.state_dict())
    assert report.loaded == total - 2 and len(report.shape_mismatch) == 2 and report.not_in_model == []
    assert report.fresh == report.head == list(head)
    assert all(torch.equal(model.state_dict()[k], v) for k, v in head.items())
    loaded = [k for k in model.state_dict() if k not in head]
    assert all(torch.equal(model.state_dict()[k], source[k]) for k in loaded)
    text = str(report)
    assert "\n" not in text and f"{total - 2} tensors loaded, 2 skipped (2 shape mismatch, 0 not in the model), " \
                               f"2 newly initialised" in text


def test_same_classes_keep_the_head_other_classes_do_not(ten_class_run):
    digits = [str(d) for d in range(10)]
    model = build("mnist-2conv", (1, 28, 28), 10)
    assert init_from(model, ten_class_run / "best.pt", digits).fresh == []
    model = build("mnist-2conv", (1, 28, 28), 10)
    report = init_from(model, ten_class_run, [f"class{d}" for d in range(10)])  # 10 other classes
    assert report.loaded == len(model.state_dict()) - 2 and report.fresh == head_keys(model, 10)


def test_plain_state_dict_and_tensors_the_model_lacks(tmp_path):
    source = build("mnist-2conv", (1, 28, 28), 3).state_dict()
    source["extra.weight"] = torch.zeros(2)
    torch.save(source, tmp_path / "weights.pt")
    model = build("mnist-2conv", (1, 28, 28), 3)
    report = init_from(model, tmp_path / "weights.pt")
    assert report.not_in_model == ["extra.weight"] and report.loaded == len(source) - 1 - 2
    assert "1 not in the model" in str(report)


def test_unreadable_or_foreign_files_are_refused(tmp_path):
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="junk.pt: not a readable weight file"):
        init_from(build("mnist-2conv", (1, 28, 28), 3), tmp_path / "junk.pt")
    torch.save({"epochs": 3}, tmp_path / "dict.pt")
    with pytest.raises(CheckpointError, match="dict.pt: neither a cnnlab checkpoint nor a state_dict"):
        init_from(build("mnist-2conv", (1, 28, 28), 3), tmp_path / "dict.pt")
    with pytest.raises(CheckpointError, match="no best.pt or last.pt"):
        init_from(build("mnist-2conv", (1, 28, 28), 3), tmp_path)


def test_train_init_from_a_run_on_another_data_set(ten_class_run, tmp_path, mini, capsys):
    folder = tmp_path / "four"
    split = mini["train"]
    for digit in range(4):  # a 4-class folder of 28×28 gray PNGs
        (folder / f"d{digit}").mkdir(parents=True)
        for i, idx in enumerate(np.flatnonzero(split.labels.numpy() == digit)[:10]):
            Image.fromarray(split.images[idx, 0].numpy()).save(folder / f"d{digit}" / f"{i}.png")
    code = main(["train", str(folder), "--model", "mnist-2conv", "--init-from", str(ten_class_run), "--epochs", "1",
                 "--batch-size", "16", "--channels", "1", "--runs-dir", str(tmp_path / "runs")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"init      init from {ten_class_run}: 6 tensors loaded, 2 skipped (2 shape mismatch" in out
    with pytest.raises(ValueError, match="choose one starting point"):
        train(TrainConfig(data=str(folder), model="mnist-2conv", init_from=str(ten_class_run), pretrained=True,
                          channels=1, runs_dir=str(tmp_path / "runs")))
