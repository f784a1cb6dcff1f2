"""The course's worked convolution examples, computed with the reference ops and explained step by step."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnnlab.explain.ops.conv import conv2d, pad_image, window_terms
from cnnlab.explain.ops.pool import max_pool2d
from cnnlab.explain.ops.sizes import formula_text

SHOW_CELLS_UP_TO = 36  # print every output cell's sum when the map has at most this many cells


def _rows(text: str) -> np.ndarray:
    """'0100 / 0010' (digits) or '105 102 / 103 99' (numbers) → a 2-D int array."""
    rows = [r.split() if " " in r.strip() else list(r.strip()) for r in text.split("/")]
    return np.array([[int(v) for v in r] for r in rows])


@dataclass(frozen=True)
class Example:
    """One worked example: an image, a kernel, and what the course says comes out."""

    name: str
    title: str
    image: np.ndarray  # (H, W) ints
    kernel: np.ndarray  # (k, k) ints
    expected: np.ndarray | None  # the whole feature map, as it should compute (None: only expected_cells known)
    stride: int = 1
    padding: int = 0
    pool: int | None = None  # max pooling window (stride = window, partial border windows kept)
    expected_pool: np.ndarray | None = None
    note: str = ""  # where the slide differs from the arithmetic, or what to look at
    focus: tuple[int, int] | None = None  # an output cell worth showing on its own (row, col), 0-based
    expected_cells: tuple = ()  # ((row, col), value) pairs the course states


EXAMPLES: dict[str, Example] = {e.name: e for e in [
    Example("feature-detector", "7×7 image, 3×3 feature detector, stride 1, then 2×2 max pooling",
            _rows("0000000 / 0100010 / 0000000 / 0001000 / 0100010 / 0011100 / 0000000"),
            np.array([[0, 0, 1], [1, 0, 0], [0, 1, 1]]),
            np.array([[0, 1, 0, 0, 0], [0, 1, 1, 1, 0], [1, 0, 0, 2, 1], [1, 4, 2, 1, 0], [0, 0, 1, 2, 1]]),
            pool=2, expected_pool=np.array([[1, 1, 0], [4, 2, 1], [0, 2, 1]]),
            note="The slide prints 1 at row 3, column 3 (0-based [2, 2]) of the feature map; the arithmetic "
                 "gives 0 (every image pixel under a kernel 1 there is 0), as shown above.",
            focus=(2, 2)),
    Example("diagonal", "6×6 image, 3×3 diagonal filter (+1 on the diagonal, −1 elsewhere), stride 1",
            _rows("100001 / 010010 / 001100 / 100010 / 010010 / 001010"),
            np.array([[1, -1, -1], [-1, 1, -1], [-1, -1, 1]]),
            np.array([[3, -1, -3, -1], [-3, 1, 0, -3], [-3, -3, 0, 1], [3, -2, -2, -1]]),
            note="The largest values (3) are where the image has a diagonal line like the filter's."),
    Example("multiply-sum", "5×5 input, 3×3 kernel: multiply element by element, then sum",
            np.array([[3, 3, 2, 1, 0], [0, 0, 1, 3, 1], [3, 1, 2, 2, 3], [2, 0, 0, 2, 2], [2, 0, 0, 0, 1]]),
            np.array([[0, 1, 2], [2, 2, 0], [0, 1, 2]]),
            np.array([[12, 12, 17], [10, 17, 19], [9, 6, 14]])),
    Example("sharpen", "sharpen kernel on a 5×5 image with zero padding 1 ('same' size)",
            _rows("105 102 100 97 96 / 103 99 103 101 102 / 101 98 104 102 100 / 99 101 106 104 99 / "
                  "104 104 104 100 98"),
            np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]]),
            None, padding=1, focus=(0, 0), expected_cells=(((0, 0), 320),),
            note="The zero border leaves out the neighbours a corner pixel lacks, so edge outputs come out "
                 "large: 320 at the top-left corner (inside, where the neighbours are similar, ≈ 100)."),
]}


@dataclass
class Worked:
    """An example computed: the padded input, the feature map, the pooled map, and their checks."""

    example: Example
    padded: np.ndarray
    feature_map: np.ndarray
    pooled: np.ndarray | None

    @property
    def matches(self) -> bool:
        """True when the computed maps equal the expected ones."""
        ex = self.example
        ok = ex.expected is None or np.array_equal(self.feature_map, ex.expected)
        ok = ok and all(self.feature_map[cell] == value for cell, value in ex.expected_cells)
        if self.example.expected_pool is not None:
            ok = ok and np.array_equal(self.pooled, self.example.expected_pool)
        return ok


def compute(example: Example) -> Worked:
    """Run the example through conv2d (and max_pool2d with partial border windows kept)."""
    p = example.padding
    fmap = conv2d(example.image, example.kernel, stride=example.stride, padding=p)
    pooled = max_pool2d(fmap, example.pool, example.pool, ceil_mode=True) if example.pool else None
    return Worked(example, pad_image(example.image, p, p, p, p), fmap, pooled)


def custom(image: np.ndarray, kernel: np.ndarray, stride: int = 1, padding: int = 0,
           pool: int | None = None) -> Worked:
    """A user's own image and kernel, computed like the course's examples."""
    ex = Example("custom", "your image and kernel", np.asarray(image), np.asarray(kernel), None, stride, padding,
                 pool)
    return compute(ex)


def matrix_text(a: np.ndarray, indent: str = "  ") -> str:
    """A small matrix as right-aligned columns."""
    width = max(len(f"{v:g}") for v in a.flatten())
    return "\n".join(indent + " ".join(f"{v:>{width}g}" for v in row) for row in a)


def _term(pixel, weight) -> str:
    w = f"({weight:g})" if weight < 0 else f"{weight:g}"
    return f"{pixel:g}·{w}"


def cell_text(worked: Worked, row: int, col: int) -> str:
    """'out[r, c] = p·w + p·w + ... = value' for one output cell."""
    ex = worked.example
    terms = window_terms(worked.padded, ex.kernel, row, col, ex.stride)
    return f"out[{row}, {col}] = " + " + ".join(_term(p, w) for p, w in terms) + \
        f" = {worked.feature_map[row, col]:g}"


def pool_cell_text(worked: Worked, row: int, col: int) -> str:
    """'pool[r, c] = max(a, b, c, d) = m'; a window cut by the border lists fewer values."""
    k = worked.example.pool
    window = worked.feature_map[row * k:(row + 1) * k, col * k:(col + 1) * k]
    partial = "  (partial window)" if window.size < k * k else ""
    values = ", ".join(f"{v:g}" for v in window.flatten())
    return f"pool[{row}, {col}] = max({values}) = {worked.pooled[row, col]:g}{partial}"


def steps_text(worked: Worked) -> str:
    """The example step by step: input, kernel, the size formula, each output cell's sum, the map, pooling."""
    ex = worked.example
    (h, w), k, p, s = ex.image.shape, ex.kernel.shape[0], ex.padding, ex.stride
    oh, ow = worked.feature_map.shape
    out = [f"{ex.name}: {ex.title}", "", f"input ({h}×{w}):", matrix_text(ex.image), "",
           f"kernel ({k}×{k}):", matrix_text(ex.kernel), ""]
    if p:
        out += [f"input zero-padded by {p} ({h + 2 * p}×{w + 2 * p}):", matrix_text(worked.padded), ""]
    if h == w:
        out += [f"output size (rows and columns): {formula_text(h, k, s, p)}", ""]
    else:
        out += [f"output rows: {formula_text(h, k, s, p)}", f"output columns: {formula_text(w, k, s, p)}", ""]
    if oh * ow <= SHOW_CELLS_UP_TO:
        out += ["each output cell = Σ pixel·weight over the window under the kernel:"]
        out += ["  " + cell_text(worked, r, c) for r in range(oh) for c in range(ow)] + [""]
    elif ex.focus:
        out += ["  " + cell_text(worked, *ex.focus), ""]
    out += [f"feature map ({oh}×{ow}):", matrix_text(worked.feature_map)]
    if worked.pooled is not None:
        ph, pw = worked.pooled.shape
        out += ["", f"max pooling {ex.pool}×{ex.pool}, stride {ex.pool}, partial border windows kept: "
                f"{formula_text(oh, ex.pool, ex.pool, 0, 1, True)}"]
        out += ["  " + pool_cell_text(worked, r, c) for r in range(ph) for c in range(pw)]
        out += [f"pooled map ({ph}×{pw}):", matrix_text(worked.pooled)]
    if ex.focus and oh * ow <= SHOW_CELLS_UP_TO:
        out += ["", "the cell to look at:", "  " + cell_text(worked, *ex.focus)]
    if ex.note:
        out += ["", f"note: {ex.note}"]
    if ex.expected is not None or ex.expected_cells:
        out += ["", "check: matches the course's result" if worked.matches else
                "check: DIFFERS from the expected result"]
    return "\n".join(out)
