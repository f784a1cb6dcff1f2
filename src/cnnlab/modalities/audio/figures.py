"""A clip as pictures: its waveform, its log-Mel spectrogram, and the fixed-size feature image a model sees."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from cnnlab.explain.viz.fonts import drawing, escaped
from cnnlab.explain.viz.plots import new_figure, save_figure
from cnnlab.modalities.audio.features import FeatureParams, clip_features, hz_to_mel, log_mel, mel_to_hz
from cnnlab.modalities.audio.wav import read_wav, resample

HZ_TICKS = (250, 500, 1000, 2000, 4000, 8000, 16000)  # frequency labels on the Mel axis


def _mel_ticks(ax, params: FeatureParams) -> None:
    """Label Mel band rows with frequencies in Hz (the bands are equally spaced in Mel, not in Hz)."""
    fmax = params.fmax or params.sample_rate / 2
    lo, hi = hz_to_mel(params.fmin), hz_to_mel(fmax)
    ticks = [f for f in HZ_TICKS if params.fmin <= f <= fmax]
    rows = [(float(hz_to_mel(f)) - lo) / (hi - lo) * params.n_mels - 0.5 for f in ticks]
    ax.set_yticks(rows, [f"{f / 1000:g}k" if f >= 1000 else str(f) for f in ticks])
    ax.set_ylabel("frequency (Hz, Mel scale)")


def clip_figure(wav_path: str | Path, params: FeatureParams | dict | None = None, title: str | None = None,
                prediction: str | None = None):
    """A Figure: waveform, log-Mel spectrogram (dB) and the model's input window of a WAV clip.

    `params`: FeatureParams, a run's audio meta (dict), or None for the defaults at the clip's own rate.
    """
    with drawing():
        return _draw_clip(wav_path, params, title, prediction)


def _draw_clip(wav_path, params, title, prediction):
    """clip_figure's drawing, inside its font context."""
    if isinstance(params, dict):
        params = FeatureParams.from_dict(params.get("features", params))
    samples, rate = read_wav(wav_path)
    params = (params or FeatureParams()).at_rate(rate)
    x = resample(samples, rate, params.sample_rate)
    seconds = len(x) / params.sample_rate
    mel = log_mel(x, params) if params.kind == "logmel" else log_mel(x, FeatureParams(
        **{**params.to_dict(), "kind": "logmel"}))
    model_input = clip_features(samples, rate, params)[0]  # (bands, frames)

    fig = new_figure((9, 8.5))
    axes = fig.subplots(3, 1, gridspec_kw={"height_ratios": [1, 1.4, 1.4]})
    t = np.arange(len(x)) / params.sample_rate
    axes[0].plot(t, x, lw=0.6, color="tab:blue")
    axes[0].set_xlim(0, max(seconds, 1e-3))
    axes[0].set_ylabel("amplitude")
    axes[0].set_xlabel("time (s)")
    axes[0].set_title(f"waveform ({params.sample_rate} Hz, {seconds:.2f} s)")
    axes[0].grid(alpha=0.3)

    hop_s = params.hop_length / params.sample_rate
    scale = {"vmin": float(mel.max()) - (params.top_db or 80.0), "vmax": float(mel.max())}  # both panels alike
    image = axes[1].imshow(mel, origin="lower", aspect="auto", cmap="magma", **scale,
                           extent=(-hop_s / 2, (mel.shape[1] - 0.5) * hop_s, -0.5, params.n_mels - 0.5))
    _mel_ticks(axes[1], params)
    axes[1].set_xlabel("time (s)")
    axes[1].set_title(f"log-Mel spectrogram: {params.n_mels} bands, {params.win_ms:g} ms window, "
                      f"{params.hop_ms:g} ms hop")
    fig.colorbar(image, ax=axes[1], pad=0.01, label="dB")

    image = axes[2].imshow(model_input, origin="lower", aspect="auto", cmap="magma",
                           **(scale if params.kind == "logmel" else {}))
    if params.kind == "logmel":
        _mel_ticks(axes[2], params)
    else:
        axes[2].set_ylabel("MFCC coefficient")
    axes[2].set_xlabel(f"frame ({params.hop_ms:g} ms each)")
    axes[2].set_title(f"model input: {params.bands}×{params.frames} "
                      f"({params.duration_s:g} s, padded with silence or cropped to the loudest part)"
                      + (f" → {escaped(prediction)}" if prediction else ""))
    fig.colorbar(image, ax=axes[2], pad=0.01, label="dB" if params.kind == "logmel" else "")
    fig.suptitle(escaped(title or Path(wav_path).name))
    fig.tight_layout()
    return fig


def plot_clip(wav_path: str | Path, out_path: str | Path, params: FeatureParams | dict | None = None,
              title: str | None = None, prediction: str | None = None) -> Path:
    """clip_figure written to out_path (PNG); returns out_path."""
    return save_figure(clip_figure(wav_path, params, title, prediction), out_path)


def mel_band_edges(params: FeatureParams) -> np.ndarray:
    """(n_mels + 2,) filter edge frequencies in Hz: band i spans edges i..i+2, peaking at i+1."""
    fmax = params.fmax or params.sample_rate / 2
    return mel_to_hz(np.linspace(hz_to_mel(params.fmin), hz_to_mel(fmax), params.n_mels + 2))
