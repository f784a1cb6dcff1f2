"""Any image size a folder, CSV or IDX file can give gets a recipe kind whose models take it: gray or colour,
square or not, from 8 px (colour icons, thin strips) to photos.  Sizes are drawn at random on every run; the
kinds' boundaries are where whitenet stops paying (colour over 48 px, gray over 64 px) or cannot take the image
(a side under 16 px)."""
from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnlab.data import Dataset, Split
from cnnlab.models import build
from cnnlab.modalities.image import COLOR_MAX_SIDE, FACES_MAX_SIDE
from cnnlab.training.config import TrainConfig
from cnnlab.training.recipes import data_kind, recipe_values
from cnnlab.training.resize import check_resizable, epoch_size


def _data(shape: tuple[int, int, int]) -> Dataset:
    images = torch.zeros(4, *shape, dtype=torch.uint8)
    return Dataset("sized", ["a", "b"], {"train": Split(images, torch.tensor([0, 1] * 2))})


@settings(max_examples=25, deadline=None)
@given(channels=st.sampled_from([1, 3]), h=st.integers(8, 140), w=st.integers(8, 140))
def test_every_recipe_of_the_kind_takes_the_image(channels, h, w):
    data = _data((channels, h, w))
    kind = data_kind(data)
    whitenet_size = max(h, w) <= (FACES_MAX_SIDE if channels == 1 else COLOR_MAX_SIDE)
    if kind in ("faces", "color"):
        assert whitenet_size and min(h, w) >= 16
    if channels == 1 and max(h, w) > FACES_MAX_SIDE or channels == 3 and max(h, w) > COLOR_MAX_SIDE:
        assert kind == "photo"
    for recipe in ("fast", "best", "default"):
        values = recipe_values(recipe, data)
        model_name = values.get("model", TrainConfig().model)
        model = build(model_name, (channels, h, w), 2).eval()
        with torch.no_grad():
            assert model(torch.zeros(2, channels, h, w)).shape == (2, 2), (recipe, model_name)
        # a recipe that trains its first epochs on smaller images (progressive resizing) can take those too
        first = epoch_size(1, values.get("epochs", 1), (h, w), values.get("progressive_resize"))
        check_resizable(model, (channels, h, w), first, model_name)


def test_the_faces_ramp_is_left_out_where_its_first_images_would_be_too_small_for_whitenet():
    assert recipe_values("best", _data((1, 48, 48)))["progressive_resize"] == 0.67  # 32 → 48 px, as on FER2013
    narrow = recipe_values("best", _data((1, 16, 50)))  # 16 px × 0.67 → 8 px: whitenet needs 16
    assert narrow["model"] == "whitenet" and "progressive_resize" not in narrow
