"""Classification reports: per-class precision/recall/F1, their macro and weighted averages and balanced
accuracy, checked against scikit-learn and against values worked out by hand; and where they are shown."""
import json
import math
import warnings
from types import SimpleNamespace

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnlab.cli import main
from cnnlab.runs.ensemble import Ensemble, score
from cnnlab.runs.evaluate import Report, confusion_matrix, report

CLASSES = ["a", "b", "c", "d"]
# rows: true class, columns: predicted.  c is never predicted; d is absent from the labels but predicted once.
HAND = torch.tensor([[3, 1, 0, 0],
                     [0, 2, 0, 0],
                     [1, 0, 0, 1],
                     [0, 0, 0, 0]])


def hand_report() -> Report:
    return Report(CLASSES, 0.5, 5 / 8, 2, 7 / 8, HAND)


def report_of(labels: list[int], preds: list[int], k: int) -> Report:
    y, p = torch.tensor(labels, dtype=torch.int64), torch.tensor(preds, dtype=torch.int64)
    return Report([str(i) for i in range(k)], 0.0, 0.0, 1, 0.0, confusion_matrix(y, p, k))


def test_per_class_scores_by_hand():
    rep = hand_report()
    assert rep.precision.tolist() == pytest.approx([3 / 4, 2 / 3, 0, 0])  # c never predicted: 0, not nan
    assert rep.recall.tolist() == pytest.approx([3 / 4, 1, 0, 0])  # d has no support: 0
    assert rep.f1.tolist() == pytest.approx([3 / 4, 4 / 5, 0, 0])


def test_macro_and_weighted_averages_by_hand():
    rep = hand_report()
    # macro: the plain mean over all four classes, d included with its zeros
    assert rep.average("macro") == pytest.approx({"precision": (3 / 4 + 2 / 3) / 4, "recall": (3 / 4 + 1) / 4,
                                                  "f1": (3 / 4 + 4 / 5) / 4})
    # weighted by support 4, 2, 2, 0 (of 8): weighted recall is the accuracy
    assert rep.average("weighted") == pytest.approx({"precision": (4 * 3 / 4 + 2 * 2 / 3) / 8,
                                                     "recall": 5 / 8, "f1": (4 * 3 / 4 + 2 * 4 / 5) / 8})
    with pytest.raises(ValueError, match="micro"):
        rep.average("micro")


def test_balanced_accuracy_leaves_out_a_class_absent_from_the_labels():
    assert hand_report().balanced_accuracy == pytest.approx((3 / 4 + 1 + 0) / 3)


def test_an_empty_split_has_no_balanced_accuracy_and_zero_averages():
    rep = report_of([], [], 3)
    assert math.isnan(rep.balanced_accuracy)
    assert rep.average("macro") == rep.average("weighted") == {"precision": 0.0, "recall": 0.0, "f1": 0.0}


def sklearn_scores(labels, preds, k):
    metrics = pytest.importorskip("sklearn.metrics")
    with warnings.catch_warnings():  # sklearn warns about classes without predictions or support
        warnings.simplefilter("ignore")
        per_class = metrics.precision_recall_fscore_support(labels, preds, labels=list(range(k)), zero_division=0)
        avg = {kind: metrics.precision_recall_fscore_support(labels, preds, labels=list(range(k)), average=kind,
                                                             zero_division=0)[:3] for kind in ("macro", "weighted")}
        balanced = metrics.balanced_accuracy_score(labels, preds)
    return per_class, avg, balanced


def assert_matches_sklearn(rep: Report, labels, preds, k):
    (p, r, f, s), avg, balanced = sklearn_scores(labels, preds, k)
    assert rep.precision.tolist() == pytest.approx(list(p), abs=1e-12)
    assert rep.recall.tolist() == pytest.approx(list(r), abs=1e-12)
    assert rep.f1.tolist() == pytest.approx(list(f), abs=1e-12)
    assert rep.support.tolist() == list(s)
    for kind in ("macro", "weighted"):
        ours = rep.average(kind)
        assert [ours["precision"], ours["recall"], ours["f1"]] == pytest.approx(list(avg[kind]), abs=1e-12), kind
    assert rep.balanced_accuracy == pytest.approx(balanced, abs=1e-12)


def test_hand_matrix_agrees_with_sklearn():
    labels = [0, 0, 0, 0, 1, 1, 2, 2]
    preds = [0, 0, 0, 1, 1, 1, 0, 3]
    rep = report_of(labels, preds, 4)
    assert torch.equal(rep.confusion, HAND)
    assert_matches_sklearn(rep, labels, preds, 4)


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 6).flatmap(lambda k: st.tuples(
    st.just(k), st.lists(st.tuples(st.integers(0, k - 1), st.integers(0, k - 1)), min_size=1, max_size=40))))
def test_reports_agree_with_sklearn(case):
    k, pairs = case  # small k and few samples: classes absent from the labels or never predicted are common
    labels, preds = [y for y, _ in pairs], [p for _, p in pairs]
    assert_matches_sklearn(report_of(labels, preds, k), labels, preds, k)


def test_report_from_logits_keeps_its_headline_and_adds_the_averages():
    torch.manual_seed(0)
    labels = torch.tensor([0] * 40 + [1] * 8 + [2] * 2)  # imbalanced, like FER2013's Disgust
    logits = torch.randn(50, 3)
    logits[:40, 0] += 3  # the model mostly says the majority class
    rep = report(logits, labels, ["x", "y", "z"])
    assert set(rep.headline) == {"loss", "acc"}
    assert rep.accuracy == pytest.approx((logits.argmax(1) == labels).float().mean().item())
    assert_matches_sklearn(rep, labels.tolist(), logits.argmax(1).tolist(), 3)
    d = rep.to_dict()
    assert d["acc"] == rep.accuracy and d["balanced_acc"] == rep.balanced_accuracy
    for kind in ("macro", "weighted"):
        assert d[f"{kind}_avg"] == {m: round(v, 4) for m, v in rep.average(kind).items()}
    json.dumps(d)  # JSON-able as it is written to metrics.json


def test_text_shows_balanced_accuracy_and_the_average_rows():
    text = hand_report().text()
    assert "balanced accuracy 0.5833   (mean recall of the 3 classes in the labels)" in text
    rows = {line.split("  ")[0]: line.split()[-4:] for line in text.splitlines() if " avg " in line}
    assert rows["macro avg"] == [f"{(3 / 4 + 2 / 3) / 4:.4f}", "0.4375", "0.3875", "8"]
    assert rows["weighted avg"] == [f"{(3 + 4 / 3) / 8:.4f}", "0.6250", "0.5750", "8"]


def test_ensemble_scores_each_member_and_the_mean():
    classes = ["a", "b", "c"]
    member = SimpleNamespace(classes=classes)
    ens = Ensemble([member, member], [0.5, 0.5])
    labels = torch.tensor([0, 1, 2, 2])
    p0 = torch.tensor([[.8, .1, .1], [.1, .8, .1], [.6, .2, .2], [.1, .1, .8]])
    p1 = torch.tensor([[.1, .8, .1], [.1, .8, .1], [.1, .1, .8], [.1, .1, .8]])
    members, combined = score(ens, [p0, p1], labels)
    assert [m.accuracy for m in members] == [0.75, 0.75]
    assert combined.accuracy == 1.0 and combined.balanced_accuracy == 1.0
    assert members[1].balanced_accuracy == pytest.approx((0 + 1 + 1) / 3)
    assert members[0].average("macro")["f1"] == pytest.approx((2 / 3 + 1 + 2 / 3) / 3)


def test_training_and_evaluate_print_the_averages(tmp_path, capsys, tiny_csv):
    assert main(["train", str(tiny_csv), "--model", "dnn", "--epochs", "1", "--runs-dir", str(tmp_path / "runs"),
                 "--batch-size", "64"]) == 0
    out = dict(line.partition(" ")[::2] for line in capsys.readouterr().out.splitlines())
    metrics = json.loads((tmp_path / "runs" / out["run_dir"].rsplit("/", 1)[-1] / "metrics.json").read_text())
    val = metrics["val"]
    assert float(out["val_balanced_acc"]) == pytest.approx(val["balanced_acc"], abs=5e-5)
    assert float(out["val_macro_f1"]) == pytest.approx(val["macro_avg"]["f1"], abs=1e-4)
    assert set(val["weighted_avg"]) == {"precision", "recall", "f1"}
    assert val["weighted_avg"]["recall"] == pytest.approx(val["acc"], abs=1e-4)  # support-weighted recall
    assert main(["evaluate", out["run_dir"], "--out", str(tmp_path / "cm.png")]) == 0
    text = capsys.readouterr().out
    assert "macro avg" in text and "weighted avg" in text and "balanced accuracy" in text


def test_a_report_gives_each_monitor_s_figure_by_name():
    logits = torch.tensor([[2.0, 0.0], [2.0, 0.0], [2.0, 0.0], [0.0, 2.0]])
    rep = report(logits, torch.tensor([0, 0, 0, 0]), ["a", "b"])  # all class a: b never seen
    assert rep.metric("acc") == rep.accuracy == 0.75 and rep.metric("loss") == rep.loss
    skewed = report(logits, torch.tensor([0, 0, 1, 1]), ["a", "b"])
    assert skewed.metric("balanced_acc") == skewed.balanced_accuracy == 0.75  # recall a 1.0, b 0.5
    assert skewed.metric("mae") is None
    regression = report(torch.tensor([[1.0], [3.0]]), torch.tensor([1.0, 2.0]), [])
    assert regression.metric("mae") == regression.mae == 0.5 and regression.metric("acc") is None
