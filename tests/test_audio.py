"""Audio front end: WAV reading, resampling, Mel features (against librosa), clip folders, model, pictures."""
from __future__ import annotations

import json
import wave

import numpy as np
import pytest
import torch

from cnnlab.modalities.audio.loader import (encode_audio, encode_clips, list_clips, looks_like_audio_folder,
                                            split_clips)
from cnnlab.modalities.audio.features import (FeatureParams, clip_features, dct_matrix, hz_to_mel, log_mel,
                                              mel_filterbank, mel_to_hz, mfcc, power_to_db)
from cnnlab.modalities.audio.figures import plot_clip
from cnnlab.modalities.audio.wav import read_wav, resample, write_wav
from cnnlab.data import DataError
from cnnlab.data.load import detect_format, load_data
from cnnlab.models import build

RATE = 8000


def tone(freq: float, seconds: float = 0.4, rate: int = RATE, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _raw_wav(path, frames: np.ndarray, width: int, rate: int = RATE):
    """Write integer frames (n, channels) as `width`-byte PCM with the wave module."""
    if width == 1:
        raw = (frames + 128).astype(np.uint8).tobytes()
    elif width == 3:
        raw = b"".join(int(v).to_bytes(3, "little", signed=True) for v in frames.reshape(-1))
    else:
        raw = frames.astype(f"<i{width}").tobytes()
    with wave.open(str(path), "wb") as f:
        f.setnchannels(frames.shape[1])
        f.setsampwidth(width)
        f.setframerate(rate)
        f.writeframes(raw)
    return path


# ── WAV files ────────────────────────────────────────────────────────────────────────────────────────────
def test_wav_round_trip_16_bit(tmp_path):
    x = tone(440)
    write_wav(tmp_path / "a.wav", x, RATE)
    y, rate = read_wav(tmp_path / "a.wav")
    assert rate == RATE and y.dtype == np.float32 and np.abs(y - x).max() <= 2**-15


@pytest.mark.parametrize("width, full", [(1, 128), (2, 2**15), (3, 2**23), (4, 2**31)])
def test_pcm_widths_and_stereo_to_mono(tmp_path, width, full):
    left = np.array([0, full // 2, -full // 2, -full, full - 1])
    right = np.array([0, full // 2, full // 2, -full, -full])
    x, rate = read_wav(_raw_wav(tmp_path / "s.wav", np.stack([left, right], 1), width, 11025))
    assert rate == 11025
    expected = (left + right) / 2 / full
    assert np.allclose(x, expected, atol=1e-6)


def test_unreadable_wav_names_the_file(tmp_path):
    bad = tmp_path / "notes.wav"
    bad.write_bytes(b"RIFF....WAVEjunk")
    with pytest.raises(DataError, match="notes.wav: not a PCM WAV"):
        read_wav(bad)


# ── resampling ───────────────────────────────────────────────────────────────────────────────────────────
@pytest.mark.parametrize("src, dst", [(16000, 8000), (44100, 8000), (8000, 11025), (22050, 16000)])
def test_resample_matches_the_same_tone_sampled_at_the_target_rate(src, dst):
    x = tone(440, 0.5, src)
    y = resample(x, src, dst)
    assert len(y) == int(np.ceil(len(x) * dst / src))
    inner = slice(len(y) // 10, -len(y) // 10)  # away from the clip's edges (zeros assumed outside)
    same = 0.5 * np.sin(2 * np.pi * 440 * np.arange(len(y)) / dst)
    assert np.abs(y[inner] - same[inner]).max() < 2e-3


def test_downsampling_removes_what_the_new_rate_cannot_hold():
    x = tone(6000, 0.5, 16000)  # above the 4 kHz Nyquist frequency of 8 kHz: must not alias to 2 kHz
    y = resample(x, 16000, 8000)
    assert np.abs(y[400:-400]).max() < 1e-3
    assert resample(x, 16000, 16000) is not None and np.array_equal(resample(x, 16000, 16000), x)


# ── features against librosa ─────────────────────────────────────────────────────────────────────────────
@pytest.mark.parametrize("htk", [False, True])
@pytest.mark.parametrize("sr, n_fft, n_mels, fmin, fmax", [(8000, 256, 40, 0, None), (16000, 512, 64, 20, 7600),
                                                           (22050, 2048, 128, 0, None)])
def test_mel_filterbank_matches_librosa(htk, sr, n_fft, n_mels, fmin, fmax):
    librosa = pytest.importorskip("librosa")
    ours = mel_filterbank(sr, n_fft, n_mels, fmin, fmax, htk=htk)
    ref = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk, dtype=np.float64)
    assert ours.shape == ref.shape and np.abs(ours - ref).max() < 1e-12
    hz = np.array([0, 200, 999, 1000, 1001, 3000, 11025])
    assert np.allclose(hz_to_mel(hz, htk), librosa.hz_to_mel(hz, htk=htk))
    assert np.allclose(mel_to_hz(hz_to_mel(hz, htk), htk), hz)


def _speech_like(rate: int = RATE) -> np.ndarray:
    """A chirp with noise: energy across the band, like a spoken word."""
    t = np.arange(int(0.6 * rate)) / rate
    rng = np.random.default_rng(0)
    return (0.3 * np.sin(2 * np.pi * (200 + 2500 * t) * t) * np.hanning(len(t))
            + 0.01 * rng.standard_normal(len(t))).astype(np.float32)


def test_log_mel_and_mfcc_match_librosa():
    librosa = pytest.importorskip("librosa")
    x = _speech_like().astype(np.float64)
    p = FeatureParams(peak_db=False).at_rate(RATE)
    S = librosa.feature.melspectrogram(y=x, sr=RATE, n_fft=p.n_fft, hop_length=p.hop_length, n_mels=p.n_mels,
                                       center=True, pad_mode="constant", power=2.0)
    ref = librosa.power_to_db(S, ref=1.0, amin=1e-10, top_db=80.0)
    ours = log_mel(x, p)
    assert ours.shape == ref.shape and np.abs(ours - ref).max() < 1e-6  # dB
    peak = librosa.power_to_db(S, ref=np.max, top_db=80.0)
    assert np.abs(log_mel(x, FeatureParams().at_rate(RATE)) - peak).max() < 1e-6
    ref_mfcc = librosa.feature.mfcc(y=x, sr=RATE, n_mfcc=13, n_fft=p.n_fft, hop_length=p.hop_length, n_mels=40,
                                    pad_mode="constant")
    ours_mfcc = mfcc(x, FeatureParams(kind="mfcc", n_mfcc=13, peak_db=False).at_rate(RATE))
    assert np.abs(ours_mfcc - ref_mfcc).max() < 1e-5
    assert np.allclose(dct_matrix(8, 8) @ dct_matrix(8, 8).T, np.eye(8))  # orthonormal


def test_fsdd_clip_log_mel_matches_librosa(data_dir):
    librosa = pytest.importorskip("librosa")
    x, rate = read_wav(data_dir / "fsdd" / "recordings" / "3_theo_7.wav")
    p = FeatureParams().at_rate(rate)
    S = librosa.feature.melspectrogram(y=x, sr=rate, n_fft=p.n_fft, hop_length=p.hop_length, n_mels=p.n_mels,
                                       pad_mode="constant")
    assert np.abs(log_mel(x, p) - librosa.power_to_db(S, ref=np.max, top_db=80.0)).max() < 1e-3  # float32 STFT


# ── fixed-size features ──────────────────────────────────────────────────────────────────────────────────
def test_short_clips_are_padded_and_long_ones_cropped_to_the_loudest_second():
    p = FeatureParams()
    short = clip_features(tone(500, 0.3), RATE, p)
    assert short.shape == (1, 40, 100) and short.dtype == np.float32
    assert short.max() == 0.0 and np.all(short[0, :, 40:] == -80.0)  # peak at 0 dB, silence at the floor
    quiet = np.zeros(3 * RATE, dtype=np.float32)
    quiet[int(1.8 * RATE):int(2.1 * RATE)] = tone(500, 0.3)
    long = clip_features(quiet + 1e-4 * tone(90, 3.0), RATE, p)
    assert long.shape == (1, 40, 100)
    loud_frames = np.flatnonzero(long[0].max(0) > -20)
    assert 20 <= len(loud_frames) <= 40  # the whole 0.3 s tone lies inside the chosen second
    louder = clip_features(4 * tone(500, 0.3), RATE, p)
    assert np.abs(louder - short).max() < 1e-3  # peak-relative dB: the recording's gain drops out


def test_features_of_a_resampled_clip_match_the_original():
    x = _speech_like(RATE)
    p = FeatureParams(sample_rate=RATE)
    direct = clip_features(x, RATE, p)
    via_16k = clip_features(resample(x, RATE, 16000), 16000, p)
    assert direct.shape == via_16k.shape
    loud = direct > -40  # where there is signal; near the floor tiny differences are many dB
    assert np.abs(direct - via_16k)[loud].mean() < 0.1


def test_feature_params_round_trip_and_errors():
    p = FeatureParams(n_mels=64, kind="mfcc", n_mfcc=13).at_rate(16000)
    assert (p.n_fft, p.hop_length, p.frames, p.shape) == (512, 160, 100, (1, 13, 100))
    assert FeatureParams.from_dict(json.loads(json.dumps(p.to_dict()))) == p
    with pytest.raises(ValueError, match="kind"):
        FeatureParams(kind="cqt")
    with pytest.raises(ValueError, match="fmax"):
        FeatureParams(sample_rate=8000, fmax=6000)
    with pytest.raises(ValueError, match="unknown audio feature option"):
        FeatureParams.from_dict({"bands": 3})
    assert power_to_db(np.array([0.0, 1.0, 100.0]), top_db=None).tolist() == [-100.0, 0.0, 20.0]


# ── clip folders ─────────────────────────────────────────────────────────────────────────────────────────
PITCH = {"0": 300.0, "1": 700.0, "2": 1500.0}  # one tone per class: a task a small CNN solves


def _fsdd_like(folder, speakers=("ann", "bob"), per=6):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    for label, freq in PITCH.items():
        for speaker in speakers:
            for i in range(per):
                x = tone(freq * (1 + 0.03 * rng.standard_normal()), 0.2 + 0.1 * rng.random())
                write_wav(folder / f"{label}_{speaker}_{i}.wav", x, RATE)
    return folder


def test_flat_fsdd_names_standard_and_speaker_splits(tmp_path):
    clips = list_clips(_fsdd_like(tmp_path / "rec"))
    assert len(clips.paths) == 36 and sorted(set(clips.speakers)) == ["ann", "bob"]
    labels = np.asarray([int(v) for v in clips.labels])
    parts, note = split_clips(clips, labels, "auto")
    assert note.startswith("standard") and len(parts["test"]) == 3 * 2 * 5 and len(parts["train"]) == 6
    assert all(clips.indexes[i] < 5 for i in parts["test"])
    parts, note = split_clips(clips, labels, "speaker:bob")
    assert {clips.speakers[i] for i in parts["test"]} == {"bob"} and len(parts["train"]) == 18
    with pytest.raises(DataError, match="speakers: ann, bob"):
        split_clips(clips, labels, "speaker:carol")
    with pytest.raises(ValueError, match="audio split 'halves'"):
        split_clips(clips, labels, "halves")
    assert looks_like_audio_folder(tmp_path / "rec") and detect_format(tmp_path / "rec") == "audio"


def test_class_subfolders_and_bad_flat_names(tmp_path):
    for label in ("dog", "cat"):
        (tmp_path / "pets" / label).mkdir(parents=True)
        for i in range(5):
            write_wav(tmp_path / "pets" / label / f"clip{i}.wav", tone(300 if label == "dog" else 900), RATE)
    clips = list_clips(tmp_path / "pets")
    parts, classes, params, note = encode_clips(clips, test_split=0.2, seed=0)
    assert classes == ["cat", "dog"] and note == "stratified 20% test, seed 0"
    assert parts["train"][0].shape == (8, 1, 40, 100) and np.bincount(parts["test"][1]).tolist() == [1, 1]
    assert parts["test"][2][0].startswith(("cat/", "dog/")) and params.sample_rate == RATE
    (tmp_path / "flat").mkdir()
    write_wav(tmp_path / "flat" / "hello.wav", tone(300), RATE)
    with pytest.raises(DataError, match=r"hello.wav: a flat folder of clips needs names like"):
        list_clips(tmp_path / "flat")


def test_mixed_rates_are_resampled_to_the_usual_one(tmp_path):
    folder = _fsdd_like(tmp_path / "rec", speakers=("ann",), per=2)
    write_wav(folder / "1_ann_9.wav", tone(700, 0.3, 16000), 16000)
    parts, _, params, _ = encode_clips(list_clips(folder), split="none")
    assert params.sample_rate == RATE and parts["train"][0].shape == (7, 1, 40, 100)


def test_encode_audio_matches_the_data_set_and_the_models_train(tmp_path):
    folder = _fsdd_like(tmp_path / "rec")
    parts, classes, params, _ = encode_clips(list_clips(folder), split="speaker:bob")
    meta = json.loads(json.dumps({"kind": "audio", "features": params.to_dict()}))
    again = encode_audio(meta, [folder / p for p in parts["test"][2]])
    assert again.dtype == torch.float32 and np.array_equal(again.numpy(), parts["test"][0])
    with pytest.raises(ValueError, match="not trained on audio"):
        encode_audio({"kind": "text"}, [])
    # The audio CNN learns the pitches from one speaker and recognises the other's.
    x, y = (torch.from_numpy(a) for a in parts["train"][:2])
    mean, std = x.mean(), x.std()
    torch.manual_seed(0)
    model = build("audio-cnn", params.shape, len(classes))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small batches: extra threads only wait on each other
    try:
        for _ in range(15):
            loss = torch.nn.functional.cross_entropy(model((x - mean) / std), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            pred = model((again - mean) / std).argmax(1)
    finally:
        torch.set_num_threads(threads)
    assert (pred == torch.from_numpy(parts["test"][1])).float().mean() == 1.0


@pytest.mark.parametrize("name", ["audio-cnn", "cnn"])
def test_spectrogram_models_forward_backward(name):
    model = build(name, (1, 40, 100), 10)
    out = model(torch.randn(3, 1, 40, 100))
    assert out.shape == (3, 10)
    out.sum().backward()
    with pytest.raises(ValueError):
        build("audio-cnn", (400,), 10)


def test_fsdd_counts_and_splits(data_dir):
    clips = list_clips(data_dir / "fsdd" / "recordings")
    labels = np.asarray([int(v) for v in clips.labels])
    assert len(clips.paths) == 3000 and np.bincount(labels).tolist() == [300] * 10
    parts, _ = split_clips(clips, labels, "standard")
    assert len(parts["test"]) == 300 and np.bincount(labels[parts["test"]]).tolist() == [30] * 10
    parts, _ = split_clips(clips, labels, "speaker:theo")
    assert len(parts["test"]) == 500 and len(parts["train"]) == 2500


def test_load_data_reads_a_clip_folder_into_a_dataset(tmp_path):
    data = load_data(_fsdd_like(tmp_path / "recordings"), n_mels=32)
    assert data.name == tmp_path.name and data.meta["kind"] == "audio" and data.classes == ["0", "1", "2"]
    assert tuple(data["train"].images.shape) == (6, 1, 32, 100) and len(data["test"]) == 30
    assert data.meta["features"]["sample_rate"] == RATE and data.meta["split"].startswith("standard")


# ── picture ──────────────────────────────────────────────────────────────────────────────────────────────
def test_plot_clip_writes_a_png(tmp_path):
    write_wav(tmp_path / "c.wav", _speech_like(), RATE)
    out = plot_clip(tmp_path / "c.wav", tmp_path / "c.png", {"kind": "audio", "features": FeatureParams().to_dict()},
                    prediction="7 (0.93)")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 20_000
    plot_clip(tmp_path / "c.wav", tmp_path / "m.png", FeatureParams(kind="mfcc"))
    assert (tmp_path / "m.png").is_file()
