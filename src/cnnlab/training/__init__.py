"""Training: the typed config, recipes, the epoch loop (its state, steps, typed callbacks and console output),
optimizers and schedules, EMA, device and precision, distributed data parallel, and batched augmentation
(training.augment)."""
