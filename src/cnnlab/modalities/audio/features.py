"""Waveform → log-Mel spectrogram (or MFCC) of a fixed size, in NumPy: the input image of an audio CNN.

Pipeline, per clip (`FeatureParams` holds every number, in physical units, and travels with a trained run):
  resample to `sample_rate` → pad to at least `duration_s` → STFT power (periodic Hann window of `win_ms`,
  hop `hop_ms`, frames centred with zero padding) → `n_mels` triangular Mel filters between `fmin` and `fmax`
  (Slaney's Mel scale and area normalisation, as librosa's defaults) → 10·log10 (dB, floor `top_db` below the
  clip's peak, which becomes 0 dB with `peak_db`) → [MFCC: DCT-II of the dB bands, first `n_mfcc`]
  → the `frames` consecutive columns with the most energy.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from functools import lru_cache

import numpy as np

from cnnlab.modalities.audio.wav import resample

KINDS = ("logmel", "mfcc")
AMIN = 1e-10  # power floor before the logarithm (−100 dB): silence stays finite


@dataclass(frozen=True)
class FeatureParams:
    """How a clip becomes features; every field is JSON-able and saved with a run."""

    sample_rate: int | None = None  # Hz; clips at other rates are resampled; None: the data set's usual rate
    win_ms: float = 32.0  # STFT window (= FFT size): 256 samples at 8 kHz, 512 at 16 kHz
    hop_ms: float = 10.0  # STFT hop: 100 frames per second
    n_mels: int = 40  # Mel bands
    fmin: float = 0.0  # Hz, lowest Mel filter edge
    fmax: float | None = None  # Hz, highest Mel filter edge; None: sample_rate / 2 (Nyquist)
    duration_s: float = 1.0  # fixed length: shorter clips padded with silence, longer ones cropped
    kind: str = "logmel"  # logmel | mfcc
    n_mfcc: int = 20  # MFCC coefficients kept (kind mfcc)
    top_db: float | None = 80.0  # dB below the clip's peak that quieter cells are raised to; None: no floor
    peak_db: bool = True  # dB relative to the clip's loudest cell (0 dB): the recording's gain drops out

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"audio feature kind {self.kind!r}; expected one of {', '.join(KINDS)}")
        if self.win_ms <= 0 or self.hop_ms <= 0 or self.duration_s <= 0 or self.n_mels < 1 or self.n_mfcc < 1:
            raise ValueError(f"win_ms, hop_ms, duration_s, n_mels and n_mfcc must be positive: {self}")
        if self.kind == "mfcc" and self.n_mfcc > self.n_mels:
            raise ValueError(f"n_mfcc ({self.n_mfcc}) cannot exceed n_mels ({self.n_mels})")
        if self.sample_rate is not None:
            top = self.sample_rate / 2 if self.fmax is None else self.fmax
            if not 0 <= self.fmin < top <= self.sample_rate / 2:
                raise ValueError(f"need 0 ≤ fmin < fmax ≤ sample_rate/2, got fmin {self.fmin}, fmax {top}, "
                                 f"sample_rate {self.sample_rate}")

    def at_rate(self, rate: int) -> FeatureParams:
        """These parameters with `sample_rate` fixed (when it was None)."""
        return self if self.sample_rate is not None else replace(self, sample_rate=int(rate))

    @property
    def n_fft(self) -> int:
        return int(round(self._rate() * self.win_ms / 1000))

    @property
    def hop_length(self) -> int:
        return max(1, int(round(self._rate() * self.hop_ms / 1000)))

    @property
    def frames(self) -> int:
        return max(1, int(round(self.duration_s * 1000 / self.hop_ms)))

    @property
    def bands(self) -> int:
        """Rows of the feature image: Mel bands or MFCC coefficients."""
        return self.n_mfcc if self.kind == "mfcc" else self.n_mels

    @property
    def shape(self) -> tuple[int, int, int]:
        """(1, bands, frames): one channel, like a gray image."""
        return 1, self.bands, self.frames

    def _rate(self) -> int:
        if self.sample_rate is None:
            raise ValueError("the sample rate is not fixed yet (FeatureParams.at_rate)")
        return self.sample_rate

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> FeatureParams:
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown audio feature option(s) {', '.join(unknown)}; expected {', '.join(known)}")
        return cls(**values)


# ── the Mel scale ────────────────────────────────────────────────────────────────────────────────────────
SLANEY_BREAK_HZ = 1000.0  # Slaney's scale: linear below 1 kHz (3 mels per 200 Hz), logarithmic above
SLANEY_HZ_PER_MEL = 200.0 / 3
SLANEY_LOG_STEP = np.log(6.4) / 27.0  # 27 mels per factor 6.4 in frequency above the break


def hz_to_mel(hz, htk: bool = False) -> np.ndarray:
    """Frequency (Hz) → Mel, on Slaney's scale (librosa's default) or HTK's 2595·log10(1 + f/700)."""
    hz = np.asarray(hz, dtype=np.float64)
    if htk:
        return 2595.0 * np.log10(1.0 + hz / 700.0)
    break_mel = SLANEY_BREAK_HZ / SLANEY_HZ_PER_MEL
    log_part = break_mel + np.log(np.maximum(hz, SLANEY_BREAK_HZ) / SLANEY_BREAK_HZ) / SLANEY_LOG_STEP
    return np.where(hz >= SLANEY_BREAK_HZ, log_part, hz / SLANEY_HZ_PER_MEL)


def mel_to_hz(mel, htk: bool = False) -> np.ndarray:
    """Inverse of hz_to_mel."""
    mel = np.asarray(mel, dtype=np.float64)
    if htk:
        return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)
    break_mel = SLANEY_BREAK_HZ / SLANEY_HZ_PER_MEL
    log_part = SLANEY_BREAK_HZ * np.exp(SLANEY_LOG_STEP * (np.maximum(mel, break_mel) - break_mel))
    return np.where(mel >= break_mel, log_part, mel * SLANEY_HZ_PER_MEL)


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, fmin: float = 0.0, fmax: float | None = None,
                   htk: bool = False, normalize: bool = True) -> np.ndarray:
    """(n_mels, n_fft//2 + 1) triangular filters: filter i rises from edge i to i+1 and falls to i+2, the
    n_mels + 2 edges equally spaced in Mel; `normalize` scales each to unit area (2 / its width in Hz)."""
    fmax = sample_rate / 2 if fmax is None else fmax
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin, htk), hz_to_mel(fmax, htk), n_mels + 2), htk)  # (M+2,) Hz
    bins = np.arange(n_fft // 2 + 1) * sample_rate / n_fft  # (F,) centre frequency of each FFT bin, Hz
    left, centre, right = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins - left) / (centre - left)
    falling = (right - bins) / (right - centre)
    weights = np.clip(np.minimum(rising, falling), 0.0, None)  # (M, F)
    if normalize:
        weights *= 2.0 / (right - left)
    return weights


# ── spectrogram, decibels, cepstrum ─────────────────────────────────────────────────────────────────────
def hann(n: int) -> np.ndarray:
    """Periodic Hann window of n samples (the DFT-even form used for spectral analysis)."""
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)


def power_spectrogram(x: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """|STFT|² (n_fft//2 + 1, 1 + len(x)//hop): Hann frames of n_fft samples every `hop`, centred on
    t·hop (the clip padded with n_fft//2 zeros on each side)."""
    x = np.pad(np.asarray(x, dtype=np.float64), n_fft // 2)
    count = 1 + (len(x) - n_fft) // hop
    if count < 1:
        raise ValueError(f"a clip of {len(x)} samples is shorter than one {n_fft}-sample window")
    starts = np.arange(count)[:, None] * hop + np.arange(n_fft)  # (T, n_fft) sample indices
    spectrum = np.fft.rfft(x[starts] * hann(n_fft), axis=1)  # (T, F)
    return (spectrum.real ** 2 + spectrum.imag ** 2).T  # (F, T)


def power_to_db(power: np.ndarray, top_db: float | None = 80.0, peak_db: bool = False) -> np.ndarray:
    """10·log10(power) (floored at AMIN), raised to at least (peak − top_db) when top_db is set;
    with `peak_db`, shifted so the peak is 0 dB (librosa's ref=np.max)."""
    db = 10.0 * np.log10(np.maximum(power, AMIN))
    peak = db.max() if db.size else 0.0
    if top_db is not None:
        db = np.maximum(db, peak - top_db)
    return db - peak if peak_db else db


def dct_matrix(n_out: int, n_in: int) -> np.ndarray:
    """(n_out, n_in) orthonormal DCT-II: row k is cos(π·k·(2n + 1) / (2·n_in)), scaled to unit length."""
    n = np.arange(n_in)
    basis = np.cos(np.pi * np.arange(n_out)[:, None] * (2 * n + 1) / (2 * n_in))
    basis *= np.sqrt(2.0 / n_in)
    basis[0] /= np.sqrt(2.0)
    return basis


@lru_cache(maxsize=8)
def _bank(params: FeatureParams) -> np.ndarray:
    """The filter bank of `params`, built once per parameter set (read-only)."""
    bank = mel_filterbank(params.sample_rate, params.n_fft, params.n_mels, params.fmin, params.fmax)
    bank.flags.writeable = False
    return bank


def log_mel(x: np.ndarray, params: FeatureParams) -> np.ndarray:
    """(n_mels, 1 + len(x)//hop) Mel-band power in dB of a clip already at params.sample_rate."""
    power = power_spectrogram(x, params.n_fft, params.hop_length)
    return power_to_db(_bank(params) @ power, params.top_db, params.peak_db)


def mfcc(x: np.ndarray, params: FeatureParams) -> np.ndarray:
    """(n_mfcc, frames) cepstral coefficients: the DCT-II of the log-Mel bands (as librosa.feature.mfcc)."""
    db = log_mel(x, params)
    return dct_matrix(params.n_mfcc, params.n_mels) @ db


def loudest_window(features: np.ndarray, energy: np.ndarray, frames: int) -> np.ndarray:
    """The `frames` consecutive columns with the largest summed `energy` (first such window on ties)."""
    if features.shape[1] <= frames:
        return features[:, :frames]
    sums = np.convolve(energy, np.ones(frames), mode="valid")  # (T − frames + 1,) energy of each window
    start = int(np.argmax(sums))
    return features[:, start:start + frames]


def clip_features(x: np.ndarray, rate: int, params: FeatureParams) -> np.ndarray:
    """float32 (1, bands, frames) of one clip: resampled, padded or cropped (loudest window) to duration_s."""
    params = params.at_rate(rate)
    x = resample(x, rate, params.sample_rate)
    length = (params.frames - 1) * params.hop_length  # samples that give exactly `frames` centred frames
    if len(x) < length:
        x = np.pad(x, (0, length - len(x)))  # silence after the clip
    mel_power = _bank(params) @ power_spectrogram(x, params.n_fft, params.hop_length)  # (n_mels, T)
    feats = power_to_db(mel_power, params.top_db, params.peak_db)
    if params.kind == "mfcc":
        feats = dct_matrix(params.n_mfcc, params.n_mels) @ feats
    feats = loudest_window(feats, mel_power.sum(0), params.frames)
    return feats[None].astype(np.float32)
