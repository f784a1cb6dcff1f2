"""Speech/audio front end: WAV reading and resampling, log-Mel/MFCC features, clip folders, pictures.

Names are imported on first use, so `import cnnlab.modalities.audio` stays light.
"""
from __future__ import annotations

import importlib

_EXPORTS = {"read_wav": "wav", "resample": "wav", "write_wav": "wav", "FeatureParams": "features",
            "clip_features": "features", "log_mel": "features", "mfcc": "features",
            "mel_filterbank": "features", "load_audio_folder": "loader", "encode_audio": "loader",
            "params_of": "loader", "plot_clip": "figures"}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
