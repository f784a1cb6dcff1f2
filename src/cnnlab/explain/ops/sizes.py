"""The output-size formula of convolution and pooling, and padding given as 'valid', 'same' or a number.

    out = floor((n + 2p − d·(k − 1) − 1) / s) + 1

n: input size, k: kernel size, s: stride, p: padding on each side, d: dilation (d·(k−1)+1 pixels is the
reach of a dilated kernel).  Pooling in "ceil mode" rounds up instead, so partial windows at the border count.
"""
from __future__ import annotations

Padding = int | str | tuple[int, int]


def output_size(n: int, kernel: int, stride: int = 1, padding: int | tuple[int, int] = 0, dilation: int = 1,
                ceil_mode: bool = False) -> int:
    """floor((n + 2p − d(k−1) − 1)/s) + 1 (ceil in ceil mode); padding is p, or (before, after) when uneven."""
    before, after = (padding, padding) if isinstance(padding, int) else padding
    if min(n, kernel, stride, dilation) < 1 or min(before, after) < 0:
        raise ValueError(f"sizes must be positive (n={n}, k={kernel}, s={stride}, d={dilation}, p={padding})")
    reach = dilation * (kernel - 1) + 1  # pixels one (dilated) kernel window covers
    room = n + before + after - reach  # how far the window can slide
    if room < 0:
        raise ValueError(f"a {kernel}-wide kernel (reach {reach}) does not fit in {n} pixels "
                         f"+ {before + after} padding")
    out = (-(-room // stride) if ceil_mode else room // stride) + 1
    if ceil_mode and (out - 1) * stride >= n + before:  # as PyTorch: the last window must start on the image
        out -= 1
    return out


def same_padding(n: int, kernel: int, stride: int = 1, dilation: int = 1) -> tuple[int, int]:
    """(before, after) padding giving ceil(n/s) outputs; an odd total puts the extra pixel after (as Keras/TF)."""
    out = -(-n // stride)
    total = max((out - 1) * stride + dilation * (kernel - 1) + 1 - n, 0)
    return total // 2, total - total // 2


def resolve_padding(padding: Padding, n: int, kernel: int, stride: int = 1, dilation: int = 1) -> tuple[int, int]:
    """'valid' → (0, 0); 'same' → same_padding(...); p → (p, p); (before, after) as given."""
    if isinstance(padding, str):
        if padding == "valid":
            return 0, 0
        if padding == "same":
            return same_padding(n, kernel, stride, dilation)
        raise ValueError(f"padding {padding!r}: expected 'valid', 'same' or a number of pixels")
    if isinstance(padding, (tuple, list)):
        before, after = (int(v) for v in padding)
    else:
        before = after = int(padding)
    if min(before, after) < 0:
        raise ValueError(f"padding must be 0 or more, got {padding}")
    return before, after


def pair(value: int | tuple[int, int], name: str) -> tuple[int, int]:
    """An int or a (height, width) pair, as a pair of positive ints."""
    a, b = (value, value) if isinstance(value, (int,)) else tuple(value)
    if int(a) < 1 or int(b) < 1:
        raise ValueError(f"{name} must be at least 1, got {value}")
    return int(a), int(b)


def formula_text(n: int, kernel: int, stride: int = 1, padding: int | tuple[int, int] = 0, dilation: int = 1,
                 ceil_mode: bool = False) -> str:
    """The formula with the numbers filled in, e.g. 'floor((28 + 2·0 − 1·(3−1) − 1)/1) + 1 = 26'."""
    before, after = (padding, padding) if isinstance(padding, int) else padding
    pad = f"2·{before}" if before == after else f"{before}+{after}"
    rounding = "ceil" if ceil_mode else "floor"
    room = n + before + after - dilation * (kernel - 1) - 1
    raw = (-(-room // stride) if ceil_mode else room // stride) + 1
    out = output_size(n, kernel, stride, (before, after), dilation, ceil_mode)
    text = f"{rounding}(({n} + {pad} − {dilation}·({kernel}−1) − 1)/{stride}) + 1 = {raw}"
    if raw != out:
        text += f" − 1 = {out} (the last window would start in the padding)"
    elif ceil_mode and out != output_size(n, kernel, stride, (before, after), dilation, False):
        text += " (ceil mode: the partial window at the border counts)"
    return text
