"""Models: pure nn.Module builders behind a registry (name → builder(input_shape, num_classes))."""
from . import course  # noqa: F401  (registers the course's models)
from .registry import MODELS, ModelSpec, build, count_parameters, register
from .summary import layer_rows, summary_table

__all__ = ["MODELS", "ModelSpec", "build", "count_parameters", "register", "layer_rows", "summary_table"]
