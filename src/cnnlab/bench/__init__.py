"""Time-to-accuracy benchmarks, each entry a fresh process, against a reference measured in the same run."""
