"""Robustness corpus: pixel CSVs, text CSVs and WAV files as people bring them, each a small generated input with
its expected outcome (the right values, or one `error: ...` line naming the file, no traceback)."""
from __future__ import annotations

import re
import struct

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnnlab.cli import main
from cnnlab.data import DataError, load_data
from cnnlab.data.pixelcsv import FER_CLASSES
from cnnlab.data.pixelrows import read_pixel_rows
from cnnlab.data.preprocess import Preprocess
from cnnlab.modalities.audio.wav import read_wav
from cnnlab.modalities.text.loader import encode_texts, read_text_csv

PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def run_cli(capsys, *args):
    """(exit code, stdout, stderr) of `cnnlab ARGS`."""
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def one_error_line(err: str, *parts: str) -> None:
    """stderr is exactly one `error: ...` line holding every part (no traceback)."""
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err, err
    for part in parts:
        assert part in err, err


# ── pixel CSVs: class names ──────────────────────────────────────────────────────────────────────────────
def _faces_csv(path, labels, header="emotion,pixels,Usage"):
    rng = np.random.default_rng(1)
    rows = [f"{y},{' '.join(map(str, rng.integers(0, 256, 48 * 48)))},Training" for y in labels]
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


def test_fer_shaped_csv_recoded_to_six_classes_gets_six_outputs_named_by_the_labels(tmp_path, capsys):
    path = _faces_csv(tmp_path / "six.csv", np.arange(18) % 6)  # Disgust merged into Angry, re-coded 0-5
    code, out, err = run_cli(capsys, "data", path)
    assert code == 0, err
    assert "classes: 0, 1, 2, 3, 4, 5" in out and "FER2013" not in out
    code, out, err = run_cli(capsys, "train", path, "--model", "mnist-2conv", "--epochs", 1, "--val-split", 0,
                             "--runs-dir", tmp_path / "runs", "--class-names", "Angry,Fear,Happy,Sad,Surprise,Neutral")
    assert code == 0, err
    run_dir = next(line.split(" ", 1)[1] for line in out.splitlines() if line.startswith("run_dir "))
    from cnnlab.runs.rundir import load_run
    run = load_run(run_dir)
    assert run.classes == ["Angry", "Fear", "Happy", "Sad", "Surprise", "Neutral"]
    assert run.model(torch.zeros(1, 1, 48, 48)).shape == (1, 6)


def test_fer2013_names_are_assumed_only_with_its_seven_codes_and_said_once(tmp_path, capsys):
    path = _faces_csv(tmp_path / "fer.csv", np.arange(14) % 7, header="label,feature,usage")
    code, out, err = run_cli(capsys, "data", path)
    assert code == 0, err
    assert f"classes: {', '.join(FER_CLASSES)}" in out
    assert sum("FER2013's" in line for line in out.splitlines()) == 1


@pytest.mark.parametrize("values, names", [([1, 2, 3, 4, 5, 6], "1..6"), ([0, 2, 5], "0, 2, 5")])
def test_label_values_that_are_not_indices_keep_their_names(tmp_path, values, names):
    rng = np.random.default_rng(2)
    labels = np.tile(values, 3)
    path = tmp_path / "v.csv"
    path.write_text("label,feature\n" + "".join(f"{y},{' '.join(map(str, rng.integers(0, 256, 16)))}\n"
                                                for y in labels))
    data = load_data(path)
    assert data.classes == [str(v) for v in values]
    assert [data.classes[i] for i in data["train"].labels.tolist()] == [str(v) for v in labels]
    assert data.num_classes == len(values)


def _values_csv(path, labels, side=12):
    rng = np.random.default_rng(3)
    path.write_text("label,feature\n" + "".join(f"{y},{' '.join(map(str, rng.integers(0, 256, side * side)))}\n"
                                                for y in labels))
    return path


def test_files_read_for_a_trained_model_map_their_labels_onto_its_classes(tmp_path, capsys):
    """Trained on labels 1..6; a test file holding only labels 2 and 5 is scored against classes '2' and '5'."""
    from cnnlab.deploy.onnx_predict import read_inputs as onnx_inputs
    from cnnlab.runs.predict import load_predictor, read_inputs

    train_csv = _values_csv(tmp_path / "train.csv", np.tile([1, 2, 3, 4, 5, 6], 4))
    code, out, err = run_cli(capsys, "train", train_csv, "--epochs", 1, "--runs-dir", tmp_path / "runs",
                             "--val-split", 0)
    assert code == 0, err
    assert "label values 1, 2, …, 6 are classes 0..5" in out
    run_dir = next(line.split(" ", 1)[1] for line in out.splitlines() if line.startswith("run_dir "))
    test_csv = _values_csv(tmp_path / "test.csv", [2, 5, 5])
    assert read_inputs(load_predictor(run_dir), [str(test_csv)])[2].tolist() == [1, 4, 4]
    assert onnx_inputs([str(test_csv)], (1, 12, 12), [str(v) for v in range(1, 7)])[2].tolist() == [1, 4, 4]
    code, out, err = run_cli(capsys, "evaluate", run_dir, "--data", test_csv)
    assert code == 0, err
    code, _, err = run_cli(capsys, "evaluate", run_dir, "--data", _values_csv(tmp_path / "other.csv", [0, 7]))
    assert code == 2
    one_error_line(err, "other.csv, line 2: label 0 has no class among the 6 class names (1, 2, 3, 4, 5, 6)")


def test_class_names_that_do_not_fit_the_labels_are_one_line(tmp_path, capsys):
    path = _faces_csv(tmp_path / "six.csv", np.arange(12) % 6)
    code, _, err = run_cli(capsys, "train", path, "--epochs", 1, "--runs-dir", tmp_path / "runs",
                           "--class-names", "a,b,c")
    assert code == 2
    one_error_line(err, "six.csv, line 5: label 3 has no class among the 3 class names (a, b, c)")
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


# ── pixel CSVs: property-based round trip ───────────────────────────────────────────────────────────────
BOMS = {"none": ("utf-8", b""), "utf-8": ("utf-8", b"\xef\xbb\xbf"), "utf-16-le": ("utf-16-le", b"\xff\xfe"),
        "utf-16-be": ("utf-16-be", b"\xfe\xff")}


@PROPERTY
@given(data=st.data(), h=st.integers(1, 6), w=st.integers(1, 6), c=st.sampled_from([1, 3]),
       n=st.integers(1, 6), header=st.booleans(), eol=st.sampled_from(["\n", "\r\n", "\r"]),
       bom=st.sampled_from(sorted(BOMS)), final_eol=st.booleans())
def test_pixel_csv_round_trip(tmp_path_factory, data, h, w, c, n, header, eol, bom, final_eol):
    """Any shape, labels, spacing, line ends and byte-order mark: the pixels and labels that were written."""
    images = data.draw(st.lists(st.integers(0, 255), min_size=n * h * w * c, max_size=n * h * w * c))
    images = np.array(images, dtype=np.uint8).reshape(n, h, w, c)
    labels = data.draw(st.lists(st.integers(0, 30), min_size=n, max_size=n))
    seps = data.draw(st.lists(st.sampled_from([" ", "  ", "\t", " \t "]), min_size=n, max_size=n))
    pads = data.draw(st.lists(st.sampled_from(["", " ", "  "]), min_size=n, max_size=n))
    lines = ["label,feature"] if header else []
    for image, label, sep, pad in zip(images, labels, seps, pads):
        lines.append(f"{pad}{label}{pad},{pad}{sep.join(map(str, image.reshape(-1)))}{pad}")
    text = eol.join(lines) + (eol if final_eol else "")
    encoding, mark = BOMS[bom]
    path = tmp_path_factory.mktemp("csv") / "rows.csv"
    path.write_bytes(mark + text.encode(encoding))

    rows = read_pixel_rows(path, (h, w), c)
    assert np.array_equal(rows.images, images.transpose(0, 3, 1, 2))
    assert rows.labels.tolist() == labels
    dataset = load_data(path, image_size=(h, w), channels=c)
    assert [dataset.classes[i] for i in dataset["train"].labels.tolist()] == [str(v) for v in labels]
    assert dataset.num_classes == len(set(labels))


# ── text CSVs: encodings ─────────────────────────────────────────────────────────────────────────────────
SENTENCE = "The club’s fans paid €5 for the final"
TYPED = "The club's fans paid €5 for the final"


def _text_rows(first: str, n: int = 24) -> str:
    rows = [f'"{first}",sport'] + [f'"the club\'s match and the final goal {i % 3}",sport' for i in range(n // 2)]
    rows += [f'"shares and profits rose in the market {i % 3}",business' for i in range(n // 2)]
    return "text,label\r\n" + "\r\n".join(rows) + "\r\n"


@pytest.mark.parametrize("encoding, mark", [("cp1252", b""), ("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"),
                                            ("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff")])
def test_text_csv_encodings_read_the_same_words(tmp_path, encoding, mark):
    path = tmp_path / "t.csv"
    path.write_bytes(mark + _text_rows(SENTENCE).encode(encoding))
    data = load_data(path, min_freq=1, test_split=0)
    reference = load_data(_write(tmp_path / "ref.csv", _text_rows(SENTENCE)), min_freq=1, test_split=0)
    assert torch.equal(data["train"].images, reference["train"].images)
    assert data.meta["tokenizer"]["vocab"] == reference.meta["tokenizer"]["vocab"]
    assert "club's" in data.meta["tokenizer"]["vocab"] and "club" not in data.meta["tokenizer"]["vocab"]
    notes = data.meta.get("notes", [])
    assert (len(notes) == 1 and "not UTF-8, read as Windows-1252" in notes[0]) == (encoding == "cp1252")


def _write(path, text: str, encoding: str = "utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def test_a_bom_that_lies_is_one_line(tmp_path, capsys):
    path = tmp_path / "liar.csv"
    path.write_bytes(b"\xff\xfe" + "text,label\nhi,a\n".encode("utf-16-le")[:-1])  # a cut UTF-16 character
    code, _, err = run_cli(capsys, "data", path, "--format", "csv")
    assert code == 2
    assert err.startswith("error: ") and err.count("\n") == 1
    with pytest.raises(DataError, match="liar.csv: starts with a UTF-16-LE byte-order mark"):
        read_text_csv(path)


def test_the_same_sentence_scores_the_same_at_predict_as_in_training(tmp_path, capsys):
    """Excel's cp1252 CSV with a curly apostrophe: the model sees the same ids for the training row, a typed
    sentence (straight or curly apostrophe) and a cp1252 .txt file."""
    data_path = tmp_path / "excel.csv"
    data_path.write_bytes(_text_rows(SENTENCE).encode("cp1252"))
    code, out, err = run_cli(capsys, "train", data_path, "--epochs", 1, "--runs-dir", tmp_path / "runs",
                             "--test-split", 0, "--val-split", 0)
    assert code == 0, err
    assert "normalise none: integer token ids" in out
    assert "note      " in out and "read as Windows-1252" in out
    run_dir = next(line.split(" ", 1)[1] for line in out.splitlines() if line.startswith("run_dir "))
    from cnnlab.runs.predict import load_predictor, read_inputs
    from cnnlab.runs.rundir import load_run

    run = load_run(run_dir)
    training_form = load_data(data_path, meta=run.input_meta, classes=run.classes)["train"].images[:1]
    (tmp_path / "s.txt").write_bytes(SENTENCE.encode("cp1252"))
    ids, _, _ = read_inputs(load_predictor(run_dir), [str(tmp_path / "s.txt")], [TYPED, SENTENCE])
    assert all(torch.equal(row, training_form[0]) for row in ids)
    probs = run.probabilities(torch.cat([training_form, ids]), "cpu")
    assert torch.allclose(probs, probs[:1].expand_as(probs))
    assert torch.equal(encode_texts(run.input_meta, [TYPED]), training_form)


# ── text CSVs: rows with no words ────────────────────────────────────────────────────────────────────────
def test_rows_with_no_words_are_skipped_with_one_line_naming_them(tmp_path):
    body = _text_rows("a good match").replace("text,label\r\n", "text,label\r\n,sport\r\n\"\",sport\r\n"
                                                                 "\"   \",business\r\n\"?!…\",sport\r\n")
    rows = read_text_csv(_write(tmp_path / "e.csv", body))
    assert len(rows.texts) == 25 and all(t.strip(" ?!…") for t in rows.texts)
    assert rows.notes == [f"{tmp_path / 'e.csv'}: skipped 4 rows with no words (lines 2, 3, 4, 5)"]


def test_a_csv_with_no_words_at_all_is_one_line(tmp_path, capsys):
    path = _write(tmp_path / "blank.csv", 'text,label\n"",a\n"  ",b\n"...",a\n')
    code, _, err = run_cli(capsys, "train", path, "--epochs", 1, "--runs-dir", tmp_path / "runs")
    assert code == 2
    one_error_line(err, "blank.csv: no row has any words in column 'text' (lines 2, 3, 4)")


def test_a_folder_skips_wordless_files(tmp_path):
    for label, texts in {"pos": ["good film", "  ", "great fun"], "neg": ["bad plot", "..."]}.items():
        (tmp_path / label).mkdir()
        for i, text in enumerate(texts):
            (tmp_path / label / f"{i}.txt").write_text(text)
    data = load_data(tmp_path, min_freq=1, test_split=0)
    assert len(data["train"]) == 3
    assert data.meta["notes"] == [f"{tmp_path}: skipped 2 files with no words (files neg/1.txt, pos/1.txt)"]


@pytest.fixture(scope="module")
def text_run(tmp_path_factory):
    """A text model trained for one epoch on a small CSV."""
    from cnnlab.training.config import TrainConfig
    from cnnlab.training.pipeline import train

    folder = tmp_path_factory.mktemp("text")
    path = _write(folder / "t.csv", _text_rows("a good match"))
    return train(TrainConfig(data=str(path), epochs=1, runs_dir=str(folder / "runs"))).run_dir


@pytest.mark.parametrize("text", ["", "   ", "?!", "\n\t"])
def test_predict_refuses_a_text_with_no_words(text_run, tmp_path, capsys, text):
    code, out, err = run_cli(capsys, "predict", text_run, "--text", text)
    assert code == 2 and out == ""
    one_error_line(err, f"--text {text!r}: no words to classify")
    (tmp_path / "empty.txt").write_bytes(b"\xef\xbb\xbf ... \r\n")
    code, out, err = run_cli(capsys, "predict", text_run, tmp_path / "empty.txt")
    assert code == 2
    one_error_line(err, f"{tmp_path / 'empty.txt'}: no words to classify")


# ── WAV files ────────────────────────────────────────────────────────────────────────────────────────────
GUID_TAIL = struct.pack("<HH", 0x0000, 0x0010) + bytes.fromhex("800000aa00389b71")  # KSDATAFORMAT_SUBTYPE_*


def wav_bytes(samples: np.ndarray, rate: int, bits: int, fmt: int = 1, extensible: bool = False,
              tag: int | None = None) -> bytes:
    """A WAV file's bytes for float samples (n, channels) in [-1, 1]: PCM (fmt 1) or IEEE float (fmt 3), in
    the classic or the WAVE_FORMAT_EXTENSIBLE header, with an odd-sized LIST chunk before the data."""
    channels = samples.shape[1]
    if fmt == 3:
        raw = samples.astype(f"<f{bits // 8}").tobytes()
    elif bits == 8:
        raw = (quantised(samples, bits) + 128).astype(np.uint8).tobytes()
    else:
        ints = quantised(samples, bits)
        raw = b"".join(int(v).to_bytes(bits // 8, "little", signed=True) for v in ints.reshape(-1))
    block = channels * bits // 8
    code = tag if tag is not None else fmt
    if extensible:
        fmt_chunk = struct.pack("<HHIIHHHHI", 0xFFFE, channels, rate, rate * block, block, bits, 22, bits,
                                (1 << channels) - 1) + struct.pack("<I", code) + GUID_TAIL
    else:
        fmt_chunk = struct.pack("<HHIIHH", code, channels, rate, rate * block, block, bits)
    chunks = b"fmt " + struct.pack("<I", len(fmt_chunk)) + fmt_chunk
    chunks += b"LIST" + struct.pack("<I", 3) + b"abc\x00"  # odd size: padded to even
    chunks += b"data" + struct.pack("<I", len(raw)) + raw
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


def expected_mono(samples: np.ndarray, bits: int, fmt: int) -> np.ndarray:
    """What the reader should give for `wav_bytes(samples, ...)`: the stored values, averaged over channels."""
    if fmt == 3:
        stored = samples.astype(np.float32 if bits == 32 else np.float64).astype(np.float64)
    else:
        stored = quantised(samples, bits) / 2 ** (bits - 1)
    return stored.mean(1)


def quantised(samples: np.ndarray, bits: int) -> np.ndarray:
    """Samples in [-1, 1] as `bits`-bit integers (full scale 2^(bits-1), +1 clipped to the largest code)."""
    full = 2 ** (bits - 1)
    return np.clip(np.round(samples * full), -full, full - 1).astype(np.int64)


@PROPERTY
@given(data=st.data(), kind=st.sampled_from([(1, 8), (1, 16), (1, 24), (1, 32), (3, 32), (3, 64)]),
       channels=st.integers(1, 6), rate=st.sampled_from([8000, 11025, 16000, 22050, 44100, 48000, 96000]),
       extensible=st.booleans(), n=st.integers(1, 200))
def test_wav_round_trip(tmp_path_factory, data, kind, channels, rate, extensible, n):
    fmt, bits = kind
    values = data.draw(st.lists(st.floats(-1, 1, width=32), min_size=n * channels, max_size=n * channels))
    samples = np.array(values, dtype=np.float64).reshape(n, channels)
    path = tmp_path_factory.mktemp("wav") / "clip.wav"
    path.write_bytes(wav_bytes(samples, rate, bits, fmt, extensible))
    x, got_rate = read_wav(path)
    assert got_rate == rate and x.dtype == np.float32 and x.shape == (n,)
    assert np.allclose(x, expected_mono(samples, bits, fmt), atol=1e-6)
    if fmt == 1:  # within one quantisation step of what was written
        assert np.abs(x - samples.mean(1)).max() <= 2.0 ** (1 - bits) + 1e-6


def test_ffmpeg_style_24_bit_extensible_stereo(tmp_path):
    t = np.arange(800) / 8000
    stereo = np.stack([0.5 * np.sin(2 * np.pi * 440 * t), 0.25 * np.sin(2 * np.pi * 440 * t)], 1)
    path = tmp_path / "ffmpeg24.wav"
    path.write_bytes(wav_bytes(stereo, 8000, 24, extensible=True))
    x, rate = read_wav(path)
    assert rate == 8000 and np.abs(x - stereo.mean(1)).max() < 2 ** -22


@pytest.mark.parametrize("tag, extensible, name", [(6, False, "A-law"), (7, True, "µ-law"), (0x55, False, "MP3"),
                                                   (2, False, "ADPCM"), (0x1234, True, "unknown")])
def test_compressed_wav_is_refused_with_its_format_code(tmp_path, capsys, tag, extensible, name):
    folder = tmp_path / "clips"
    for label in ("yes", "no"):
        (folder / label).mkdir(parents=True)
        (folder / label / "ok.wav").write_bytes(wav_bytes(np.zeros((400, 1)), 8000, 16))
    bad = folder / "no" / "phone.wav"
    bad.write_bytes(wav_bytes(np.zeros((400, 1)), 8000, 8, extensible=extensible, tag=tag))
    with pytest.raises(DataError, match=rf"phone.wav: WAV format code 0x{tag:04X} \(.*{name}"):
        read_wav(bad)
    code, _, err = run_cli(capsys, "train", folder, "--epochs", 1, "--runs-dir", tmp_path / "runs")
    assert code == 2
    one_error_line(err, str(bad), f"0x{tag:04X}")


def test_a_streamed_wav_whose_sizes_were_never_filled_in_is_read(tmp_path):
    """Written to a pipe (ffmpeg ... -f wav -), the RIFF and data sizes are 0xFFFFFFFF: the samples there are kept."""
    samples = np.linspace(-0.5, 0.5, 101)[:, None]
    content = bytearray(wav_bytes(samples, 16000, 16))
    content[4:8] = b"\xff\xff\xff\xff"
    data_at = content.index(b"data")
    content[data_at + 4:data_at + 8] = b"\xff\xff\xff\xff"
    (tmp_path / "piped.wav").write_bytes(bytes(content) + b"\x01")  # and a truncated last sample
    x, rate = read_wav(tmp_path / "piped.wav")
    assert rate == 16000 and len(x) == 101 and np.allclose(x, expected_mono(samples, 16, 1), atol=1e-6)


@pytest.mark.parametrize("content, message", [
    (b"", "not a PCM WAV file (no RIFF/WAVE header)"),
    (b"ID3\x03\x00mp3 bytes", "not a PCM WAV file (no RIFF/WAVE header)"),
    (b"RIFF\x00\x00\x00\x00WAVE", "no valid 'fmt ' chunk"),
    (b"RF64\xff\xff\xff\xffWAVEds64", "RF64 WAV files are not read"),
    (wav_bytes(np.zeros((0, 1)), 8000, 16), "the WAV file holds no samples"),
    (wav_bytes(np.zeros((4, 1)), 8000, 16)[:-16], "no 'data' chunk"),
    (wav_bytes(np.zeros((4, 1)), 8000, 16)[:30], "no valid 'fmt ' chunk"),  # cut inside the header
])
def test_broken_wav_files_are_one_line(tmp_path, content, message):
    path = tmp_path / "broken.wav"
    path.write_bytes(content)
    with pytest.raises(DataError, match=rf"broken.wav: .*{re.escape(message)}"):
        read_wav(path)


# ── the `normalise` line ─────────────────────────────────────────────────────────────────────────────────
def test_normalise_line_says_what_each_input_kind_gets():
    tokens = Preprocess.fit(torch.zeros(4, 9, dtype=torch.int64), "standardize")
    assert tokens.describe() == "none: integer token ids go to the embedding as they are"
    features = Preprocess.fit(torch.full((4, 1, 3, 3), 2.0), "standardize")  # log-Mel: scale 1, not 255
    assert features.describe().startswith("(x − [2.0]) / ") and "255" not in features.describe()
    assert Preprocess.fit(torch.zeros(4, 1, 3, 3), "none").describe() == "x"
    pixels = Preprocess.fit(torch.full((4, 1, 3, 3), 51, dtype=torch.uint8), "standardize")
    assert pixels.describe().startswith("(x/255 − [0.2]) / ")


# ── text CSVs: several labels per text ───────────────────────────────────────────────────────────────────
@pytest.mark.parametrize("labels,line", [
    (["sport", "business|politics", "politics", "business", "tech", "sport"], 3),
    (["sport", "tech", "politics; business", "politics", "business", "tech"], 4),
    (["a b", "b a", "a b", "b a"], 3),
])
def test_text_labels_that_are_sets_of_tags_are_one_line(tmp_path, capsys, labels, line):
    rows = "".join(f'"some words number {i}","{label}"\n' for i, label in enumerate(labels))
    path = _write(tmp_path / "news.csv", "text,labels\n" + rows)
    code, _, err = run_cli(capsys, "data", path)
    assert code != 0
    one_error_line(err, f"news.csv, line {line}: the label", "is a set of tags", "several classes per text")


def test_text_labels_with_spaces_stay_classes(tmp_path):
    labels = ["half true", "mostly true", "false", "half true", "mostly true", "false"]
    rows = "".join(f'"claim words {i}",{label}\n' for i, label in enumerate(labels))
    data = load_data(_write(tmp_path / "claims.csv", "text,label\n" + rows), min_freq=1, test_split=0)
    assert data.classes == ["false", "half true", "mostly true"]


def test_comment_text_is_a_text_column(tmp_path):
    """Kaggle's comment_text (Jigsaw), review_text and headline name the text column too."""
    rows = "".join(f'{i},"words of comment {i}",{["ok", "rude"][i % 2]}\n' for i in range(6))
    data = load_data(_write(tmp_path / "c.csv", "id,comment_text,label\n" + rows), min_freq=1, test_split=0)
    assert data.classes == ["ok", "rude"] and len(data["train"]) == 6
