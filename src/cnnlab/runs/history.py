"""A training history: one dict per epoch (a plain list to code that reads it), drawn as curves in a notebook."""
from __future__ import annotations


class History(list):
    """Rows {epoch, train_loss, train_acc, val_loss, val_acc, lr, seconds, ...}, one per epoch, in order.

    A list of dicts like Keras's `history.history` rows; as the last expression of a notebook cell it shows
    the loss and accuracy curves.
    """

    def metric(self, name: str) -> list[float]:
        """One column, e.g. history.metric("val_acc"): a value per epoch (NaN where an epoch lacks it)."""
        return [row.get(name, float("nan")) for row in self]

    def figure(self):
        """Loss and accuracy per epoch, train vs validation, as a matplotlib Figure."""
        from cnnlab.explain.viz.plots import curves_figure

        return curves_figure(list(self))

    def _repr_png_(self) -> bytes | None:
        from cnnlab.explain.viz.plots import figure_png

        return figure_png(self.figure()) if self else None
