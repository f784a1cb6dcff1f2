"""Text and audio go through the same commands as images: train, evaluate, predict, explain."""
from cnnlab.cli import main

from robustness.robust_cases import review_folder


def run(capsys, *args):
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out


def results(out):
    return dict(line.split(" ", 1) for line in out.splitlines() if " " in line)


def test_bbc_text_life_cycle(data_dir, tmp_path, capsys):
    bbc = data_dir / "bbc" / "bbc-text.csv.gz"
    out = run(capsys, "train", bbc, "--limit", "600", "--epochs", "5", "--runs-dir", tmp_path, "--threads", "1")
    r = results(out)
    assert float(r["test_acc"]) > 0.6  # 600 articles, 5 epochs at the recipe's lr 5e-3 (0.84; 3 epochs: 0.56);
    # the full recipe averages 97.5% over five split seeds
    run_dir = r["run_dir"]
    assert '"model": "textcnn"' in (tmp_path / run_dir.split("/")[-1] / "config.json").read_text()
    out = run(capsys, "predict", run_dir, "--text", "The striker scored twice as the club won the cup final")
    assert out.splitlines()[0].split(": ")[1].split()[0] in {"sport", "business", "entertainment", "politics", "tech"}
    out = run(capsys, "explain", run_dir, "--text", "Shares fell as the bank cut its profit forecast")
    assert "width 3" in out or "3-gram" in out or "n-gram" in out.lower()
    assert "test_acc" in run(capsys, "evaluate", run_dir)


def test_spoken_digits_life_cycle(data_dir, tmp_path, capsys):
    recordings = data_dir / "fsdd" / "recordings"
    out = run(capsys, "train", recordings, "--limit", "600", "--epochs", "5", "--runs-dir", tmp_path,
              "--threads", "1")
    r = results(out)
    # standard split: clips 0-4 of each speaker and digit.  5 epochs: 0.78 on an Intel Xeon; after 3 the
    # score still climbs steeply and depended on the CPU's kernels (0.49 on a Xeon, over 0.5 on an EPYC)
    assert float(r["test_acc"]) > 0.5
    wav = recordings / "7_theo_3.wav"
    out = run(capsys, "predict", r["run_dir"], wav)
    assert out.startswith(f"{wav}: ")
    clips = tmp_path / "clips"  # a folder: its .wav files, one line each
    clips.mkdir()
    for name in ("7_theo_3.wav", "0_jackson_0.wav"):
        (clips / name).write_bytes((recordings / name).read_bytes())
    out = run(capsys, "predict", r["run_dir"], clips)
    assert [line.split(": ")[0] for line in out.splitlines()[:2]] == [str(clips / "0_jackson_0.wav"),
                                                                      str(clips / "7_theo_3.wav")]
    out = run(capsys, "explain", r["run_dir"], wav, "--out", tmp_path / "ex")
    assert (tmp_path / "ex" / "7_theo_3.png").is_file()


def test_text_options_are_refused_for_images(tmp_path, capsys):
    code = main(["train", "mnist-mini", "--text-column", "body", "--runs-dir", str(tmp_path)])
    assert code == 2 and "text" in capsys.readouterr().err


def test_a_review_folder_with_unsup_trains_two_classes_and_predicts_the_unsup_folder(tmp_path, capsys):
    """aclImdb's layout: train/unsup/ is left out with a note, and `predict RUN folder` reads its .txt files."""
    words = {"neg": "awful dull", "pos": "great fun", "unsup": "great fun"}
    review_folder(tmp_path / "aclImdb", 6, lambda label, i: f"{words[label]} film {i}")
    out = run(capsys, "train", tmp_path / "aclImdb", "--epochs", "1", "--runs-dir", tmp_path / "runs")
    assert "left out train/unsup/" in out and "2 classes" in out
    run_dir = results(out)["run_dir"]
    out = run(capsys, "predict", run_dir, tmp_path / "aclImdb" / "train" / "unsup")
    assert len(out.splitlines()) == 6 and out.startswith(str(tmp_path / "aclImdb" / "train" / "unsup" / "0_7.txt"))
    code = main(["predict", run_dir, str(tmp_path / "runs")])
    assert code != 0 and "no .txt files" in capsys.readouterr().err
