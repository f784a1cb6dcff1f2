"""Runs: run directories, checkpoints, evaluation reports, histories, predictions of a trained run, ensembles,
and the weights a run starts from (--pretrained, --init-from)."""
