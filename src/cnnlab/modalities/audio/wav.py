"""WAV files → mono float32 samples in [-1, 1], and band-limited resampling to a common rate.

The RIFF chunks are read here (the standard library's `wave` reads plain PCM only): integer PCM of 8, 16, 24
or 32 bits and IEEE float of 32 or 64 bits, in the classic header (format 1 or 3) or the
WAVE_FORMAT_EXTENSIBLE one (0xFFFE, whose sub-format GUID names PCM or float: what ffmpeg, SoX and Audacity
write for 24-bit and multi-channel audio).  Any channel count is averaged to mono.  Compressed formats
(A-law, µ-law, ADPCM, MP3 in a WAV) are refused with one line naming the file and the format code.
Spec: Microsoft's "Multiple Channel Audio Data and WAVE Files" (WAVEFORMATEXTENSIBLE).
"""
from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

import numpy as np

from cnnlab.runs.checkpoint import atomic_write
from cnnlab.data.base import DataError

RESAMPLE_ZEROS = 16  # sinc zero-crossings kept on each side of the resampling kernel (≈ -80 dB alias rejection)
KAISER_BETA = 8.6  # Kaiser window shape of the kernel: the main-lobe/side-lobe trade-off
RESAMPLE_CHUNK = 4096  # output samples per vectorised step (bounds memory to chunk × taps floats)
PCM, IEEE_FLOAT, EXTENSIBLE = 0x0001, 0x0003, 0xFFFE  # wFormatTag values
FORMAT_NAMES = {0x0002: "Microsoft ADPCM", 0x0006: "A-law", 0x0007: "µ-law", 0x0011: "IMA ADPCM",
                0x0031: "GSM 6.10", 0x0050: "MPEG", 0x0055: "MP3"}
CONVERT = "convert it to PCM, e.g. `ffmpeg -i in.wav -c:a pcm_s16le out.wav`"


def _pcm_to_float(raw: bytes, width: int, channels: int, path: Path, fmt: int = PCM) -> np.ndarray:
    """Interleaved little-endian PCM (or IEEE float) bytes → float32 (frames, channels), integers in [-1, 1]."""
    raw = raw[:len(raw) - len(raw) % width]  # a truncated last sample is dropped
    if fmt == IEEE_FLOAT:
        if width not in (4, 8):
            raise DataError(f"{path}: {8 * width}-bit float samples; expected 32 or 64-bit float")
        data = np.frombuffer(raw, f"<f{width}").astype(np.float32)
    elif width == 1:  # 8-bit WAV is unsigned, centred on 128
        data = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128) / 128
    elif width == 2:
        data = np.frombuffer(raw, "<i2").astype(np.float32) / 2**15
    elif width == 3:  # 24-bit: widen each 3-byte sample into the top of an int32, keeping the sign
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        data = ((b[:, 0] << 8 | b[:, 1] << 16 | b[:, 2] << 24) >> 8).astype(np.float32) / 2**23
    elif width == 4:
        data = (np.frombuffer(raw, "<i4").astype(np.float64) / 2**31).astype(np.float32)
    else:
        raise DataError(f"{path}: {8 * width}-bit samples; expected 8, 16, 24 or 32-bit PCM or 32/64-bit float")
    usable = len(data) - len(data) % channels  # a truncated last frame is dropped
    return data[:usable].reshape(-1, channels)


def _chunks(data: bytes, path: Path) -> dict[bytes, bytes]:
    """The RIFF/WAVE file's chunks by id (the first of each); a data chunk that claims more than the file
    holds (a stream written before its length was known) keeps what there is."""
    if len(data) < 12 or data[:4] not in (b"RIFF", b"RF64", b"RIFX") or data[8:12] != b"WAVE":
        raise DataError(f"{path}: not a PCM WAV file (no RIFF/WAVE header); {CONVERT}")
    if data[:4] != b"RIFF":
        raise DataError(f"{path}: {data[:4].decode()} WAV files are not read; {CONVERT}")
    chunks, pos = {}, 12
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        chunks.setdefault(cid, data[pos + 8:pos + 8 + size])
        pos += 8 + size + (size & 1)  # chunks are padded to an even length
    return chunks


def wav_format(data: bytes, path: Path) -> tuple[int, int, int, int, bytes]:
    """(format 1 = PCM or 3 = float, channels, rate in Hz, bytes per sample, sample bytes) of a WAV file's
    bytes; other formats raise a DataError naming the file and the format code."""
    chunks = _chunks(data, path)
    fmt_chunk = chunks.get(b"fmt ")
    if fmt_chunk is None or len(fmt_chunk) < 16:
        raise DataError(f"{path}: not a PCM WAV file (no valid 'fmt ' chunk); {CONVERT}")
    if b"data" not in chunks:
        raise DataError(f"{path}: no 'data' chunk in the WAV file (no samples; the file may be cut short)")
    tag, channels, rate, _, align, bits = struct.unpack_from("<HHIIHH", fmt_chunk)
    if tag == EXTENSIBLE:
        if len(fmt_chunk) < 40:
            raise DataError(f"{path}: WAVE_FORMAT_EXTENSIBLE header of {len(fmt_chunk)} bytes, expected 40")
        tag = struct.unpack_from("<H", fmt_chunk, 24)[0]  # the sub-format GUID starts with the format code
    if tag not in (PCM, IEEE_FLOAT):
        name = FORMAT_NAMES.get(tag, "a compressed or unknown format")
        raise DataError(f"{path}: WAV format code 0x{tag:04X} ({name}); expected PCM (1) or IEEE float (3): "
                        f"{CONVERT}")
    if channels < 1 or rate < 1:
        raise DataError(f"{path}: {channels} channels at {rate} Hz; expected at least one channel and a rate")
    width = align // channels if align and align % channels == 0 else (bits + 7) // 8
    if width < 1:
        raise DataError(f"{path}: {bits}-bit samples; expected 8, 16, 24 or 32-bit PCM")
    return tag, channels, rate, width, chunks[b"data"]


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """(samples float32 (n,) mono in [-1, 1], sample rate in Hz) of a PCM or IEEE float WAV file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror})") from None
    tag, channels, rate, width, raw = wav_format(data, path)
    samples = _pcm_to_float(raw, width, channels, path, tag)
    if not len(samples):
        raise DataError(f"{path}: the WAV file holds no samples")
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
