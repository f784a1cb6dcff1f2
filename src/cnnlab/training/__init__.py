"""Training: the typed config, recipes, the whole run (pipeline), the epoch loop (its state, steps, typed callbacks
and console output), time budgets, optimizers and schedules, EMA, device and precision, distributed data parallel,
and batched augmentation (training.augment)."""
