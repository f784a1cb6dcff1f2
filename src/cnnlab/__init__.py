"""cnnlab: train, inspect, compare and deploy CNN classifiers on your own data, fast on a laptop CPU."""
__version__ = "0.1.0"

from .api import Classifier  # noqa: E402
from .config import TrainConfig  # noqa: E402
from .data import Dataset, DataError, Split, load_data  # noqa: E402
from .models import build  # noqa: E402
from .runs import load_run  # noqa: E402
from .train import train  # noqa: E402

__all__ = ["Classifier", "TrainConfig", "Dataset", "DataError", "Split", "load_data", "build", "load_run", "train"]
