"""Training: the typed config, recipes, the epoch loop, optimizers and schedules, EMA, device and precision,
distributed data parallel, and batched augmentation (training.augment)."""
