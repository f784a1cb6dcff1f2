import pytest

from cnnlab.cli import main
from cnnlab.training.config import TrainConfig
from cnnlab.runs.ensemble import load_ensemble, make_ensemble
from cnnlab.training.pipeline import train


@pytest.fixture(scope="module")
def members(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    common = dict(data="mnist-mini", limit=800, epochs=2, batch_size=64, runs_dir=str(runs))
    return [train(TrainConfig(model=m, seed=s, **common)).run_dir
            for m, s in (("mnist-2conv", 0), ("lenet5", 1), ("mnist-1conv", 2))]


def test_ensemble_command_scores_members_and_saves_for_predict(members, tmp_path, capsys, mini):
    code = main(["ensemble", *map(str, members), "--weights", "val", "--save", str(tmp_path / "ens")])
    out = capsys.readouterr().out
    assert code == 0 and "ensemble" in out and (tmp_path / "ens" / "confusion_matrix.png").is_file()
    ens_acc = float(out.strip().splitlines()[-1].split()[1])
    assert ens_acc > 0.8
    from PIL import Image

    Image.fromarray(mini["test"].images[3, 0].numpy()).save(tmp_path / "d.png")
    assert main(["predict", str(tmp_path / "ens"), str(tmp_path / "d.png")]) == 0
    assert capsys.readouterr().out.startswith(str(tmp_path / "d.png"))


def test_evaluate_scores_a_saved_ensemble_as_the_ensemble_command_did(members, tmp_path, capsys):
    import json

    assert main(["ensemble", *map(str, members[:2]), "--save", str(tmp_path / "ens")]) == 0
    capsys.readouterr()
    saved = json.loads((tmp_path / "ens" / "metrics.json").read_text())
    assert saved["split"] == "test" and len(saved["members"]) == 2
    assert main(["evaluate", str(tmp_path / "ens")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("mnist-mini / test split, ensemble of 2 runs from ")
    acc = float([line for line in out.splitlines() if line.startswith("test_acc ")][0].split()[1])
    assert acc == pytest.approx(saved["ensemble"]["acc"], abs=1e-4)
    assert (tmp_path / "ens" / "confusion_matrix_test.png").is_file()
    assert main(["evaluate", str(tmp_path / "ens"), "--tta", "shift"]) == 0  # every member shifted, as --tta there
    assert "ensemble of 2 runs from " in (out := capsys.readouterr().out) and "test-time augmentation: shift" in out


def test_score_ensemble_refuses_a_missing_split_and_notes_mirroring_tta(members):
    from cnnlab.runs.ensemble import score_ensemble

    ens = make_ensemble(members[:2])
    with pytest.raises(ValueError, match="mnist-mini has no split 'holdout'"):
        score_ensemble(ens, split="holdout")
    flipped = score_ensemble(make_ensemble(members[:2], tta="flip"), split="test")
    assert len(flipped.notes) == 2 and "averages mirror images" in flipped.notes[0]
    plain = score_ensemble(ens, split="test")
    assert plain.notes == [] and plain.images == int(plain.report.confusion.sum())
    rows = plain.member_rows(ens)
    assert [r["weight"] for r in rows] == [0.5, 0.5] and all(0 <= r["acc"] <= 1 for r in rows)


def test_ensemble_averages_member_probabilities(members, mini):
    ens = make_ensemble(members[:2], [0.25, 0.75])
    images = mini["test"].images[:50]
    p0, p1 = ens.member_probabilities(images)
    assert (ens.probabilities(images) - (0.25 * p0 + 0.75 * p1)).abs().max() < 1e-6


def test_saved_ensemble_round_trips(members, tmp_path):
    from cnnlab.runs.ensemble import save_ensemble

    save_ensemble(make_ensemble(members, "val"), tmp_path)
    again = load_ensemble(tmp_path)
    assert len(again.members) == 3 and abs(sum(again.weights) - 1) < 1e-9


def test_members_must_agree_on_classes(members, tmp_path, mini):
    from PIL import Image

    for i in range(40):  # a two-class folder of 28×28 digits: same input shape, other classes
        path = tmp_path / "two" / ("odd" if int(mini["train"].labels[i]) % 2 else "even") / f"{i}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(mini["train"].images[i, 0].numpy()).save(path)
    other = train(TrainConfig(data=str(tmp_path / "two"), epochs=1, runs_dir=str(tmp_path), model="dnn")).run_dir
    with pytest.raises(ValueError, match="classes"):
        make_ensemble([members[0], other])


def test_shift_tta_averages_the_four_one_pixel_moves(members, mini, tmp_path, capsys):
    import torch

    from cnnlab.runs.evaluate import predict_logits, shifted

    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    right, left, down, up = shifted(x)
    assert right[0, 0, 0].tolist() == [0, 0, 1, 2] and left[0, 0, 0].tolist() == [1, 2, 3, 3]
    assert down[0, 0, :, 0].tolist() == [0, 0, 4, 8] and up[0, 0, :, 0].tolist() == [4, 8, 12, 12]
    ens = make_ensemble(members[:2], tta="shift")
    run = ens.members[0]
    images = mini["test"].images[:64]
    plain = predict_logits(run.model, images, run.preprocess, torch.device("cpu"), None, 32, True)
    moved = [predict_logits(run.model, m.round().to(torch.uint8), run.preprocess, torch.device("cpu"), None, 32, True)
             for m in shifted(images.float())]
    averaged = predict_logits(run.model, images, run.preprocess, torch.device("cpu"), None, 32, True, "shift")
    assert (averaged - (plain + sum(moved)) / 5).abs().max() < 1e-3
    assert main(["ensemble", *map(str, members[:2]), "--tta", "shift", "--save", str(tmp_path / "ens")]) == 0
    assert "test-time augmentation: shift" in capsys.readouterr().out
    assert load_ensemble(tmp_path / "ens").members[1].config.tta == "shift"
    assert main(["evaluate", str(members[0]), "--tta", "shift"]) == 0
    assert "test-time augmentation: shift" in capsys.readouterr().out
    with pytest.raises(ValueError, match="tta"):
        make_ensemble(members[:2], tta="zoom")
