"""Stratified, seeded splits: a validation split held out of train, or a sample of it."""
from __future__ import annotations

import torch

from cnnlab.data.dataset import DataError, Split


def stratified_indices(labels: torch.Tensor, fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(kept, held out) sorted row indices: `fraction` of each class held out (at least one of classes with 2+
    when fraction > 0).  Validation splits of images and the test splits of text and audio all come from here."""
    gen = torch.Generator().manual_seed(seed)
    if labels.is_floating_point():  # regression targets: no classes to stratify by, a seeded random share
        order = torch.randperm(len(labels), generator=gen)
        n_held = int(round(len(labels) * fraction))
        return order[n_held:].sort().values, order[:n_held].sort().values
    kept, held = [], []
    for label in labels.unique().tolist():
        members = torch.nonzero(labels == label).flatten()
        members = members[torch.randperm(len(members), generator=gen)]
        n_held = max(int(round(len(members) * fraction)), 1) if len(members) > 1 and fraction > 0 else 0
        held.append(members[:n_held])
        kept.append(members[n_held:])
    return torch.cat(kept).sort().values, torch.cat(held).sort().values


def stratified_split(split: Split, fraction: float, seed: int) -> tuple[Split, Split]:
    """Hold out `fraction` of each class as a second split: (rest, held out)."""
    kept, held = stratified_indices(split.labels, fraction, seed)
    return split.subset(kept), split.subset(held)


def limit_indices(labels: torch.Tensor, limit: int, seed: int) -> torch.Tensor:
    """Sorted row indices of a stratified, seeded sample of about `limit` rows that keeps at least one row of every
    class (so a rare class is never dropped); DataError when `limit` is smaller than the number of classes."""
    if labels.is_floating_point():
        return stratified_indices(labels, limit / max(len(labels), 1), seed)[1]
    classes = labels[labels >= 0].unique()
    if limit < len(classes):
        raise DataError(f"--limit {limit} is fewer than the {len(classes)} classes of the training split; every "
                        f"class keeps at least one image, so use --limit {len(classes)} or more")
    gen = torch.Generator().manual_seed(seed)
    fraction, picked = limit / len(labels), []
    for label in classes.tolist():
        members = torch.nonzero(labels == label).flatten()
        members = members[torch.randperm(len(members), generator=gen)]
        picked.append(members[:max(int(round(len(members) * fraction)), 1)])
    return torch.cat(picked).sort().values


def limited(split: Split, limit: int, seed: int) -> Split:
    """The training split cut to about `limit` rows (see limit_indices)."""
    return split.subset(limit_indices(split.labels, limit, seed))
