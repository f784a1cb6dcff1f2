import pytest

from cnnlab.cli import main
from cnnlab.config import TrainConfig
from cnnlab.ensemble import load_ensemble, make_ensemble
from cnnlab.train import train


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


def test_ensemble_averages_member_probabilities(members, mini):
    ens = make_ensemble(members[:2], [0.25, 0.75])
    images = mini["test"].images[:50]
    p0, p1 = ens.member_probabilities(images)
    assert (ens.probabilities(images) - (0.25 * p0 + 0.75 * p1)).abs().max() < 1e-6


def test_saved_ensemble_round_trips(members, tmp_path):
    from cnnlab.ensemble import save_ensemble

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
