"""Augmentation specs: `rotation=20,shift=0.2,flip=h` ⇄ AugmentConfig, and presets.  No torch (config.py uses it).

The Keras `ImageDataGenerator` options, by their cnnlab names:

    rotation_range            rotation=DEG        angle uniform in [−DEG, DEG]
    width_shift_range         width_shift=F       fraction of the width when F < 1, pixels when F ≥ 1
    height_shift_range        height_shift=F      (shift=F sets both)
    zoom_range                zoom=Z              x and y scale factors drawn apart, uniform in [1 − Z, 1 + Z]
    shear_range               shear=DEG           shear angle uniform in [−DEG, DEG]
    horizontal/vertical_flip  flip=h | v | hv     each flip with probability 1/2
                              flip=alt            horizontal flips that alternate: each image flipped at random in
                                                  the first epoch, then the other way round every next epoch
    fill_mode, cval           fill=constant | nearest | reflect | wrap, cval=V (in [0, 1] pixel units)
    brightness_range          brightness=B        multiply by a factor uniform in [1 − B, 1 + B]
    featurewise_center +      not an augmentation here: TrainConfig.normalize (`--normalize featurewise`:
    featurewise_std_norm.     per-pixel mean/std of the training split; `standardize`: per channel)

and beyond Keras: crop=P (pad by P pixels, crop back: an integer shift), erasing=P (random erasing with
probability P), mixup=α and cutmix=α (Beta(α, α) mixing of image pairs, with soft targets), elastic=α with
elastic_sigma=σ (Simard et al. 2003's elastic distortion, torchvision's ElasticTransform: a random displacement
field smoothed by a Gaussian of σ pixels and scaled by α pixels; for handwriting).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields

FILLS = ("constant", "nearest", "reflect", "wrap")
FLIPS = ("", "h", "v", "hv", "alt")
ALIASES = {"rotation_range": "rotation", "width_shift_range": "width_shift", "height_shift_range": "height_shift",
           "zoom_range": "zoom", "shear_range": "shear", "fill_mode": "fill", "brightness_range": "brightness"}
NORMALIZATION_NAMES = ("featurewise_center", "featurewise_std_normalization", "samplewise_center",
                       "samplewise_std_normalization")
# name: (lowest, highest, highest allowed?) for the numeric options
BOUNDS = {"rotation": (0, 180, True), "width_shift": (0, math.inf, False), "height_shift": (0, math.inf, False),
          "zoom": (0, 1, False), "shear": (0, 90, False), "crop": (0, math.inf, False), "cval": (0, 1, True),
          "brightness": (0, 1, True), "erasing": (0, 1, True), "mixup": (0, math.inf, False),
          "cutmix": (0, math.inf, False), "elastic": (0, math.inf, False), "elastic_sigma": (0, math.inf, False)}


@dataclass
class AugmentConfig:
    """Random augmentation of training batches; every option off by default.  Units in the comments."""

    rotation: float = 0.0  # degrees: each image turns by an angle uniform in [−rotation, rotation]
    width_shift: float = 0.0  # horizontal shift range: a fraction of the width if < 1, else pixels
    height_shift: float = 0.0  # vertical shift range: a fraction of the height if < 1, else pixels
    zoom: float = 0.0  # x and y scale factors (drawn apart, as in Keras) uniform in [1 − zoom, 1 + zoom]
    shear: float = 0.0  # degrees: shear angle uniform in [−shear, shear]
    crop: int = 0  # pixels: pad by `crop` then crop back to size, i.e. an integer shift in [−crop, crop]
    flip: str = ""  # "" | h | v | hv: flip left-right and/or up-down, each with probability 1/2; alt: left-right,
    # alternating per image from epoch to epoch (airbench's "alternating flip", Jordan 2024)
    fill: str = "nearest"  # pixels moved in from outside: constant (cval) | nearest (edge) | reflect | wrap
    cval: float = 0.0  # the constant fill and erasing value, in [0, 1] pixel units
    brightness: float = 0.0  # multiply each image by a factor uniform in [1 − b, 1 + b], then clip to [0, 1]
    erasing: float = 0.0  # probability of setting one random rectangle (2–33 % of the area) to cval
    mixup: float = 0.0  # α of mixup (blend image pairs, λ ~ Beta(α, α)); 0: off
    cutmix: float = 0.0  # α of cutmix (paste a box of another image, 1 − λ of the area); 0: off
    elastic: float = 0.0  # pixels: scale α of the elastic distortion's displacement field (Simard: 34 on MNIST)
    elastic_sigma: float = 4.0  # pixels: the Gaussian's σ that smooths that field (Simard: 4 on MNIST)

    def __post_init__(self) -> None:
        for f in fields(self):
            try:
                setattr(self, f.name, check_value(f.name, getattr(self, f.name)))
            except ValueError as exc:
                raise ValueError(f"augment option {f.name}: {exc}") from None

    @property
    def geometric(self) -> bool:
        """True when an affine warp is needed (flips alone are done without one)."""
        return any((self.rotation, self.width_shift, self.height_shift, self.zoom, self.shear, self.crop,
                    self.elastic))

    @property
    def mixes(self) -> bool:
        """True when batches are mixed (mixup or cutmix), i.e. training uses soft targets."""
        return bool(self.mixup or self.cutmix)

    @property
    def mirrors(self) -> bool:
        """True when training shows left-right mirror images (flip h, hv or alt)."""
        return "h" in self.flip or self.flip == "alt"

    @property
    def active(self) -> bool:
        return self != AugmentConfig()

    def to_spec(self) -> str:
        """The shortest spec that parse_augment turns back into this config ('none' when all is off)."""
        default, items = AugmentConfig(), []
        for f in fields(self):
            value = getattr(self, f.name)
            if value == getattr(default, f.name) or (f.name == "height_shift" and value == self.width_shift):
                continue
            name = "shift" if f.name == "width_shift" and value == self.height_shift else f.name
            items.append(f"{name}={_format(value)}")
        return ",".join(items) or "none"


PRESETS = {
    "none": {},
    "light": dict(rotation=10.0, width_shift=0.1, height_shift=0.1, zoom=0.1, fill="constant"),  # digits: no flips
    "fer": dict(rotation=10.0, width_shift=0.1, height_shift=0.1, zoom=0.1, flip="h"),  # faces: mirror images
}


def _format(value) -> str:
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def check_value(name: str, value):
    """`value` (a string or a number) converted to option `name`'s type; ValueError saying what was expected."""
    if name == "flip":
        text = str(value).strip().lower()
        if text in ("alt", "alternate", "alternating"):
            return "alt"
        text = "" if text in ("none", "no", "false", "0") else "".join(sorted(set(text)))
        if text not in FLIPS:
            raise ValueError(f"expected h, v, hv or alt, got {value!r}")
        return text
    if name == "fill":
        text = str(value).strip().lower()
        if text not in FILLS:
            raise ValueError(f"expected one of {', '.join(FILLS)}, got {value!r}")
        return text
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"expected a number, got {value!r}") from None
    low, high, high_ok = BOUNDS[name]
    if name == "elastic_sigma" and number <= 0:
        raise ValueError(f"expected a value above 0 (pixels), got {value!r}")
    if not (low <= number < high or (high_ok and number == high)):
        expected = f"at least {low}" if high == math.inf else f"in [{low}, {high}{']' if high_ok else ')'}"
        raise ValueError(f"expected a value {expected}, got {value!r}")
    if name == "crop":
        if not number.is_integer():
            raise ValueError(f"expected a whole number of pixels, got {value!r}")
        return int(number)
    return number


def parse_augment(spec: str) -> AugmentConfig:
    """'rotation=20,shift=0.2,flip=h' → AugmentConfig.  A preset (none, light, fer) sets every option; items
    after it override.  ValueError naming the offending item."""
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"empty augment spec: give items such as rotation=20,shift=0.1,flip=h, "
                         f"or a preset ({', '.join(PRESETS)})")
    known = [f.name for f in fields(AugmentConfig)]
    values: dict = {}
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        name, eq, raw = (s.strip() for s in item.partition("="))
        name = name.lower().replace("-", "_")
        if not eq:
            if name not in PRESETS:
                raise ValueError(f"augment item {item!r}: not a preset ({', '.join(PRESETS)}) nor name=value")
            values = dict(PRESETS[name])
            continue
        name = ALIASES.get(name, name)
        if name in NORMALIZATION_NAMES:
            raise ValueError(f"augment item {item!r}: normalisation is not an augmentation in cnnlab; use "
                             f"--normalize featurewise (per-pixel mean/std of the training split) or standardize")
        targets = ("width_shift", "height_shift") if name == "shift" else (name,)
        if targets[0] not in known:
            raise ValueError(f"augment item {item!r}: unknown option {name!r}; known: shift, {', '.join(known)}")
        try:
            value = check_value(targets[0], raw)
        except ValueError as exc:
            raise ValueError(f"augment item {item!r}: {exc}") from None
        values.update(dict.fromkeys(targets, value))
    return AugmentConfig(**values)
