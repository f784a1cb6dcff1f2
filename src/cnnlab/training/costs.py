"""What the scoring and the results of a run cost, in the units a time budget plans with: the passes per image of
each test-time augmentation, the final fp32 scoring's price over the training precision's, the noise on that price,
and the seconds the results take to write.  The budget (budget.py) and the budget-sized batch (rebatch.py) price
with the same figures."""
from __future__ import annotations

from cnnlab.training.config import epoch_tta

FORWARD_SHARE = 1 / 3  # an evaluated image costs about a third of a trained one (forward only, no backward)
RESULTS_SECONDS = 1.5  # metrics.json, curves.png and confusion_matrix.png after the final scoring (1.25-1.8 s, 2-core CPU)
# ... for up to 10 classes; each class beyond adds its two tick labels per panel to matplotlib's layout passes, and
# up to 20 classes (plots.confusion_figure) each cell its number: confusion_matrix.png of 6 / 10 / 100 classes took
# 0.65 / 1.15 / 3.26 s (2-core Xeon); on a busy hour 10 / 15 / 20 / 21 / 40 / 100 classes took 1.9 / 2.8 / 3.3 /
# 1.4 / 1.8 / 3.8 s.  100-class runs ended 3.4 s after their reported time, over a 3m budget by 2.4 s.
RESULTS_PER_CLASS = 0.025
RESULTS_PER_CELL = 0.0025  # s per numbered cell beyond 10×10, up to NUMBERED_CELLS classes
NUMBERED_CELLS = 20

# the final scoring's price × this: on a busy 2-core CPU it ran 0.75-1.4× the time its last timing gave (of a few
# hundred images, or of an epoch's validation), in runs that ended 1.7 s late or 13 s early
FINAL_NOISE = 1.2
# the final scoring runs in fp32: resnet20 scoring 2,000 32×32 images with 1 thread on a CPU with native bf16
# took 1.33 s in bf16, 3.18 s in fp32 (GPUs: about 2×); where bf16 does not pay, auto trains in fp32
# (factor 1; device.cpu_bf16_pays)
FP32_COST = 2.5
# forward passes per image of each test-time augmentation
TTA_PASSES = {None: 1, "flip": 2, "shift": 5, "multicrop": 6, "rotate": 6}


def results_seconds(classes: int) -> float:
    """Seconds to keep for writing a run's results of `classes` classes: RESULTS_SECONDS, more beyond 10."""
    cells = classes ** 2 - 100 if 10 < classes <= NUMBERED_CELLS else 0
    return RESULTS_SECONDS + RESULTS_PER_CLASS * max(0, classes - 10) + RESULTS_PER_CELL * cells


def scoring_passes(tta: str | None, track_test: bool, val_size: int, test_size: int) -> tuple[int, int]:
    """(passes after each epoch, passes of the final report): the images scored times their TTA's forward passes
    (each epoch scores with epoch_tta(tta), the final report with `tta`; its plain view is the TTA's first)."""
    scored = TTA_PASSES[epoch_tta(tta)] * (val_size + (test_size if track_test else 0))
    return scored, TTA_PASSES[tta] * (val_size + test_size)
