"""PCM WAV files → mono float32 samples in [-1, 1], and band-limited resampling to a common rate.

Reads with the standard library's `wave` module: integer PCM of 8, 16, 24 or 32 bits, any channel count
(averaged to mono).  Float or compressed WAV files are refused with a message saying how to convert them.
"""
from __future__ import annotations

import math
import wave
from pathlib import Path

import numpy as np

from cnnlab.runs.checkpoint import atomic_write
from cnnlab.data.base import DataError

RESAMPLE_ZEROS = 16  # sinc zero-crossings kept on each side of the resampling kernel (≈ -80 dB alias rejection)
KAISER_BETA = 8.6  # Kaiser window shape of the kernel: the main-lobe/side-lobe trade-off
RESAMPLE_CHUNK = 4096  # output samples per vectorised step (bounds memory to chunk × taps floats)


def _pcm_to_float(raw: bytes, width: int, channels: int, path: Path) -> np.ndarray:
    """Interleaved little-endian PCM bytes → float32 (frames, channels) in [-1, 1]."""
    if width == 1:  # 8-bit WAV is unsigned, centred on 128
        data = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128) / 128
    elif width == 2:
        data = np.frombuffer(raw, "<i2").astype(np.float32) / 2**15
    elif width == 3:  # 24-bit: widen each 3-byte sample into the top of an int32, keeping the sign
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        data = ((b[:, 0] << 8 | b[:, 1] << 16 | b[:, 2] << 24) >> 8).astype(np.float32) / 2**23
    elif width == 4:
        data = np.frombuffer(raw, "<i4").astype(np.float32) / 2**31
    else:
        raise DataError(f"{path}: {8 * width}-bit samples; expected 8, 16, 24 or 32-bit PCM")
    usable = len(data) - len(data) % channels  # a truncated last frame is dropped
    return data[:usable].reshape(-1, channels)


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """(samples float32 (n,) mono in [-1, 1], sample rate in Hz) of a PCM WAV file."""
    path = Path(path)
    try:
        with wave.open(str(path), "rb") as f:
            channels, width, rate = f.getnchannels(), f.getsampwidth(), f.getframerate()
            raw = f.readframes(f.getnframes())
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (wave.Error, EOFError) as exc:
        raise DataError(f"{path}: not a PCM WAV file this reader handles ({exc}); convert it to 16-bit PCM, "
                        "e.g. `ffmpeg -i in.wav -c:a pcm_s16le out.wav`") from None
    if channels < 1 or rate < 1:
        raise DataError(f"{path}: {channels} channels at {rate} Hz; expected at least one channel and a rate")
    samples = _pcm_to_float(raw, width, channels, path)
    return samples.mean(axis=1, dtype=np.float32), rate  # stereo and beyond → mono by averaging


def _kaiser(x: np.ndarray) -> np.ndarray:
    """Continuous Kaiser window on [-1, 1] (0 outside)."""
    inside = np.abs(x) < 1
    out = np.zeros_like(x)
    out[inside] = np.i0(KAISER_BETA * np.sqrt(1 - x[inside] ** 2)) / np.i0(KAISER_BETA)
    return out


def resample(x: np.ndarray, rate: int, target: int) -> np.ndarray:
    """Resample `x` from `rate` to `target` Hz by windowed-sinc interpolation.

    Each output sample at input time t = m·rate/target is Σ x[n]·c·sinc(c·(t − n))·w((t − n)/half), with
    cutoff c = min(1, target/rate) (so downsampling low-passes below the new Nyquist frequency first) and a
    Kaiser window w over `half` = RESAMPLE_ZEROS / c input samples.  Samples outside the clip count as zero.
    """
    if rate == target or len(x) == 0:
        return np.asarray(x, dtype=np.float32)
    x = np.asarray(x, dtype=np.float64)
    cutoff = min(1.0, target / rate)
    half = RESAMPLE_ZEROS / cutoff  # kernel half-width in input samples
    n_out = int(math.ceil(len(x) * target / rate))
    offsets = np.arange(-math.ceil(half), math.ceil(half) + 1)  # taps around each output's nearest sample
    padded = np.concatenate([np.zeros(len(offsets)), x, np.zeros(len(offsets))])
    out = np.empty(n_out)
    for lo in range(0, n_out, RESAMPLE_CHUNK):
        t = np.arange(lo, min(lo + RESAMPLE_CHUNK, n_out)) * (rate / target)  # (M,) input-sample times
        n = np.floor(t).astype(np.int64)[:, None] + offsets  # (M, taps) input indices
        d = t[:, None] - n  # distance from each tap, in input samples
        kernel = cutoff * np.sinc(cutoff * d) * _kaiser(d / half)
        out[lo:lo + len(t)] = (padded[n + len(offsets)] * kernel).sum(1)
    return out.astype(np.float32)


def write_wav(path: str | Path, samples: np.ndarray, rate: int) -> None:
    """Write mono float samples in [-1, 1] as 16-bit PCM (clipped), atomically: test clips and recorded inputs."""
    pcm = (np.clip(np.asarray(samples, dtype=np.float64), -1, 1 - 2**-15) * 2**15).astype("<i2")

    def write(tmp: Path) -> None:
        with wave.open(str(tmp), "wb") as f:
            f.setnchannels(1)
            f.setsampwidth(2)
            f.setframerate(int(rate))
            f.writeframes(pcm.tobytes())
    atomic_write(Path(path), write)
