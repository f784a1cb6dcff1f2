"""Folders of WAV clips → Dataset of log-Mel (or MFCC) feature images (N, 1, bands, frames) float32.

Layouts: a flat folder named like the Free Spoken Digit Dataset, `{label}_{speaker}_{index}.wav`; or one
subfolder of .wav files per class (subfolder name = class), optionally inside train/ val/ test/.
Splits (`split`): "auto" (the folders' own splits; else for flat FSDD names "standard"; else "random"),
"standard" (index 0-4 of each speaker and label → test, FSDD's usual 300-file test set), "speaker:NAME"
(all of NAME's clips → test: a speaker never heard in training), "random" (a stratified `test_split`
fraction, seed `seed`), "none" (everything in train).
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from cnnlab.data.base import (SPLIT_NAMES, DataError, class_folders, class_names, files_with_suffix, folder_layout,
                              unlabelled_notes)
from cnnlab.modalities.text.loader import stratified_holdout
from cnnlab.modalities.audio.features import FeatureParams, clip_features
from cnnlab.modalities.audio.wav import read_wav

AUDIO_SUFFIX = ".wav"
NAMED_CLIP = re.compile(r"^(?P<label>[^_]+)_(?P<speaker>[^_]+)_(?P<index>\d+)$")  # FSDD file stems
STANDARD_TEST_INDEX = 5  # FSDD's usual split: recordings 0-4 of each speaker and label are the test set
GENERIC_NAMES = ("recordings", "clips", "wav", "wavs", "audio")  # such a folder is named after its parent


@dataclass
class Clips:
    """Listed clips: paths, string labels, the folders' split names (None = unsplit), speaker and index."""

    paths: list[Path]
    labels: list[str]
    folder_splits: list[str | None]
    speakers: list[str | None]
    indexes: list[int | None]
    root: Path
    notes: list[str] = field(default_factory=list)  # one line each: folders left out while listing


def _wavs(folder: Path) -> list[Path]:
    return files_with_suffix(folder, AUDIO_SUFFIX)


def looks_like_audio_folder(folder: Path) -> bool:
    """True for a folder of .wav files, or of class subfolders holding .wav files (directly or under train/)."""
    if _wavs(folder):
        return True
    return any(_wavs(sub) for sub in class_folders(folder_layout(folder, {AUDIO_SUFFIX}).dirs["train"]))


def list_clips(folder: str | Path) -> Clips:
    """Every clip of a flat FSDD-style folder or a class-subfolder folder, sorted, with its label."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder")
    clips = Clips([], [], [], [], [], folder)
    flat = _wavs(folder)
    if flat:
        for path in flat:
            match = NAMED_CLIP.match(path.stem)
            if match is None:
                raise DataError(f"{path}: a flat folder of clips needs names like {{label}}_{{speaker}}_{{index}}"
                                ".wav (e.g. 7_theo_12.wav); otherwise put one subfolder of clips per class")
            clips.paths.append(path)
            clips.labels.append(match["label"])
            clips.folder_splits.append(None)
            clips.speakers.append(match["speaker"])
            clips.indexes.append(int(match["index"]))
        return clips
    layout = folder_layout(folder, {AUDIO_SUFFIX})
    for split, base in (layout.dirs if layout.named else {None: layout.root}).items():
        for class_dir in class_folders(base):
            for path in _wavs(class_dir):
                match = NAMED_CLIP.match(path.stem)
                clips.paths.append(path)
                clips.labels.append(class_dir.name)
                clips.folder_splits.append(split)
                clips.speakers.append(match["speaker"] if match else None)
                clips.indexes.append(int(match["index"]) if match else None)
    clips.notes += unlabelled_notes(folder, layout)
    if not clips.paths:
        raise DataError(f"{folder}: no .wav files found; expected {{label}}_{{speaker}}_{{index}}.wav files or "
                        "one subfolder of .wav files per class")
    return clips


def split_clips(clips: Clips, labels: np.ndarray, split: str = "auto", test_split: float = 0.2,
                seed: int = 0) -> tuple[dict[str, np.ndarray], str]:
    """Split name → clip indices, and a one-line description of the split used."""
    n = len(clips.paths)
    if split == "auto":
        if any(clips.folder_splits):
            split = "folders"
        elif all(i is not None for i in clips.indexes) and not folder_layout(clips.root, {AUDIO_SUFFIX}).named:
            split = "standard"
        else:
            split = "random"
    if split == "folders":
        names = np.asarray([s or "train" for s in clips.folder_splits])
        return {s: np.flatnonzero(names == s) for s in SPLIT_NAMES if (names == s).any()}, "from the folders"
    if split == "none":
        return {"train": np.arange(n)}, "all clips in train"
    if split == "random":
        train, test = stratified_holdout(labels, test_split, seed)
        return {"train": train, "test": test}, f"stratified {test_split:.0%} test, seed {seed}"
    if split == "standard" or split.startswith("speaker:"):
        if any(i is None for i in clips.indexes):
            raise DataError(f"{clips.root}: split {split!r} needs clip names like {{label}}_{{speaker}}_{{index}}.wav")
        if split == "standard":
            test = np.asarray([i < STANDARD_TEST_INDEX for i in clips.indexes])
            note = f"standard: index 0-{STANDARD_TEST_INDEX - 1} of each speaker and label in test"
        else:
            speaker = split.split(":", 1)[1]
            known = sorted(set(clips.speakers))
            if speaker not in known:
                raise DataError(f"{clips.root}: no clips of speaker {speaker!r}; speakers: {', '.join(known)}")
            test = np.asarray([s == speaker for s in clips.speakers])
            note = f"speaker {speaker} held out in test"
        if test.all():
            raise DataError(f"{clips.root}: the {note.split(':')[0]} split leaves no clip for training ({note}); "
                            "choose another with --holdout, or add clips")
        return {"train": np.flatnonzero(~test), "test": np.flatnonzero(test)}, note
    raise ValueError(f"audio split {split!r}; expected auto, standard, speaker:NAME, random or none")


def read_clips(paths: list[Path]) -> tuple[list[np.ndarray], list[int]]:
    """Samples and sample rates of each clip."""
    read = [read_wav(p) for p in paths]
    return [x for x, _ in read], [r for _, r in read]


def feature_array(samples: list[np.ndarray], rates: list[int], params: FeatureParams) -> np.ndarray:
    """float32 (N, 1, bands, frames) features of clips (resampled to params.sample_rate)."""
    out = np.empty((len(samples), *params.shape), dtype=np.float32)
    for i, (x, rate) in enumerate(zip(samples, rates)):
        out[i] = clip_features(x, rate, params)
    return out


def common_rate(rates: list[int]) -> int:
    """The most frequent sample rate (the higher on ties): clips at other rates are resampled to it."""
    counts = Counter(rates)
    return max(counts, key=lambda r: (counts[r], r))


def audio_meta(params: FeatureParams, **extra) -> dict:
    """Dataset.meta of an audio data set: the feature parameters (sample rate fixed)."""
    return {"kind": "audio", "features": params.to_dict(), "model_options": {}, **extra}


def encode_clips(clips: Clips, split: str = "auto", test_split: float = 0.2, seed: int = 0,
                 classes: list[str] | None = None, params: FeatureParams | None = None,
                 **feature_options) -> tuple[dict, list[str], FeatureParams, str]:
    """Split, read and featurise: ({split: (features (N,1,bands,frames), labels (N,), ids)}, classes, params, note)."""
    classes = list(classes) if classes else class_names(clips.labels)
    index = {c: i for i, c in enumerate(classes)}
    unknown = sorted(set(clips.labels) - set(index))
    if unknown:
        raise DataError(f"{clips.root}: label(s) {', '.join(unknown)} not among the classes {', '.join(classes)}")
    labels = np.asarray([index[c] for c in clips.labels], dtype=np.int64)
    if params is None:
        parts, note = split_clips(clips, labels, split, test_split, seed)
        params = FeatureParams.from_dict(feature_options)
    else:  # clips for a trained model: its feature parameters, everything in one split
        parts, note = {"train": np.arange(len(labels))}, "all clips in one split"
    samples, rates = read_clips(clips.paths)
    if params.sample_rate is None:
        params = params.at_rate(common_rate([rates[i] for i in parts.get("train", np.arange(len(rates)))]))
    out = {}
    for name, rows in parts.items():
        feats = feature_array([samples[i] for i in rows], [rates[i] for i in rows], params)
        out[name] = (feats, labels[rows], [str(clips.paths[i].relative_to(clips.root)) for i in rows])
    return out, classes, params, note


def load_audio_folder(folder: str | Path, split: str = "auto", test_split: float = 0.2, seed: int = 0,
                      meta: dict | None = None, classes: list[str] | None = None, name: str | None = None,
                      **feature_options):
    """A folder of WAV clips → Dataset of feature images; `feature_options` are FeatureParams fields.
    With `meta` (a trained run's), its feature parameters are used and every clip goes into one split."""
    from cnnlab.data.dataset import Dataset, Split  # torch-backed containers

    params = params_of(meta) if meta else None
    if params is not None and feature_options:
        raise ValueError(f"feature option(s) {', '.join(feature_options)} cannot change a trained model's features")
    clips = list_clips(folder)
    parts, classes, params, note = encode_clips(clips, split, test_split, seed, classes, params, **feature_options)
    splits = {s: Split(torch.from_numpy(x), torch.from_numpy(y), ids) for s, (x, y, ids) in parts.items()}
    folder = Path(folder).resolve()
    name = name or (folder.parent.name if folder.name.lower() in GENERIC_NAMES else folder.name)
    return Dataset(name, classes, splits, source=str(folder),
                   meta=audio_meta(params, split=note, **({"notes": clips.notes} if clips.notes else {})))


# ── predict ──────────────────────────────────────────────────────────────────────────────────────────────
def params_of(meta: dict) -> FeatureParams:
    """The feature parameters saved in an audio data set's (or run's) meta."""
    if not meta or meta.get("kind") != "audio" or "features" not in meta:
        raise ValueError("this model was not trained on audio: its data meta has no feature parameters")
    return FeatureParams.from_dict(meta["features"])


def encode_audio(meta: dict, wav_paths: list[str | Path]) -> torch.Tensor:
    """WAV files → float32 features (N, 1, bands, frames), computed as for the run's training data."""
    params = params_of(meta)
    paths = [wav_paths] if isinstance(wav_paths, (str, Path)) else list(wav_paths)
    samples, rates = read_clips([Path(p) for p in paths])
    return torch.from_numpy(feature_array(samples, rates, params))
