"""Audio as a modality: folders of WAV clips → float32 log-Mel (or MFCC) feature images (N, 1, bands, frames),
computed with feature parameters that travel in the run (cnnlab.modalities.audio.loader)."""
from __future__ import annotations

from pathlib import Path

from cnnlab.data.base import DataError
from cnnlab.modalities.base import Modality


class AudioModality(Modality):
    """Spectrogram features (N, 1, bands, frames) float32; explained by the clip's waveform and spectrogram."""

    name = "audio"
    formats = ("audio",)
    unit = "features"
    folder_hint = ".wav files in one subfolder per class, or {label}_{speaker}_{index}.wav clips"
    # TrainConfig's defaults are tuned for images: "default" applies whenever no recipe is named; measured in
    # the README's audio benchmark table
    recipes = {
        "default": dict(model="audio-cnn", optimizer="adam", lr=3e-3, batch_size=64, epochs=8, schedule="onecycle"),
        "fast": dict(model="audio-cnn", optimizer="adam", lr=3e-3, batch_size=64, epochs=5, schedule="onecycle"),
        "best": dict(model="audio-cnn", optimizer="adam", lr=3e-3, batch_size=64, epochs=12, schedule="onecycle"),
    }

    def detect(self, path: Path, head: bytes | None) -> str | None:
        from cnnlab.modalities.audio.loader import looks_like_audio_folder

        return "audio" if path.is_dir() and looks_like_audio_folder(path) else None

    def load(self, path: Path, fmt: str, image_size=None, channels=None, **options):
        from cnnlab.modalities.audio.loader import load_audio_folder

        return load_audio_folder(path, **options)

    def loader_options(self, cfg, fmt: str) -> dict:
        return {"split": cfg.holdout, "test_split": cfg.test_split, "seed": cfg.seed,
                "kind": "mfcc" if cfg.features == "mfcc" else "logmel"}  # the feature kind (FeatureParams.kind)

    def read_inputs(self, run, paths: list[str], texts: list[str]):
        import torch

        from cnnlab.data.base import expand_folders
        from cnnlab.modalities.audio.loader import AUDIO_SUFFIX, encode_audio

        paths = expand_folders(paths, AUDIO_SUFFIX)  # a folder: its .wav files
        if not paths:
            raise DataError("no inputs given: pass .wav files or a folder of them")
        return encode_audio(run.input_meta, paths), list(paths), torch.full((len(paths),), -1)

    def explain(self, run, source: str | None, text: str | None, out: Path, top_k: int) -> list[str]:
        from cnnlab.modalities.audio.figures import plot_clip
        from cnnlab.runs.predict import predict, read_inputs

        if not source:
            raise ValueError("an audio model explains a clip: pass a .wav file")
        inputs, ids, _ = read_inputs(run, [source])
        top = predict(run, inputs, ids, top_k=1)[0].top[0]
        png = plot_clip(source, out / f"{Path(source).stem}.png", run.input_meta,
                        prediction=f"{top[0]} ({top[1]:.2f})")
        return [f"{source}: {top[0]} {top[1]:.4f}", f"wrote {png}"]
