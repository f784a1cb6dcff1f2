"""Text front end: tokenizer, CSV/folder loaders, text models, pretrained vectors, n-gram explanations."""
from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
import torch

from cnnlab.data import DataError
from cnnlab.data.load import detect_format, load_data
from cnnlab.models import build
from cnnlab.models.text import TextCNN
from cnnlab.modalities.text.loader import (encode_rows, encode_texts, looks_like_text_csv, read_text_csv,
                                           read_text_folder, stratified_holdout, text_meta)
from cnnlab.modalities.text.ngrams import explain_text, render_explanation
from cnnlab.modalities.text.tokenizer import PAD_ID, UNK_ID, Tokenizer, split_words
from cnnlab.modalities.text.vectors import fill_embedding, load_word_vectors, vector_dim
from conftest import save_as_older_version


# ── tokenizer ────────────────────────────────────────────────────────────────────────────────────────────
def test_split_words_lowercases_and_drops_punctuation():
    assert split_words("Don't PANIC: it's 42, café-au-lait!") == ["don't", "panic", "it's", "42", "café", "au",
                                                                    "lait"]
    assert split_words("Keep Case", lower=False) == ["Keep", "Case"]


def test_split_words_normalises_apostrophes_and_compatibility_forms():
    """Word processors type ’ (and ‘ ʼ ´ ′) for ': one word either way; NFKC folds ligatures and full-width forms."""
    straight = split_words("The club's ﬁnal: don't ＡＢＣ")
    assert straight == ["the", "club's", "final", "don't", "abc"]
    for mark in "’‘ʼ´′":
        assert split_words(f"The club{mark}s ﬁnal: don{mark}t ＡＢＣ") == straight


def test_decode_text_follows_the_bom_then_utf8_then_cp1252():
    from cnnlab.data.io import decode_text

    text = "club’s €5 café"
    assert decode_text(text.encode("utf-8"), "f") == (text, "utf-8")
    assert decode_text(b"\xef\xbb\xbf" + text.encode("utf-8"), "f") == (text, "utf-8")
    assert decode_text(b"\xff\xfe" + text.encode("utf-16-le"), "f") == (text, "utf-16-le")
    assert decode_text(b"\xfe\xff" + text.encode("utf-16-be"), "f") == (text, "utf-16-be")
    assert decode_text(b"\xff\xfe\x00\x00" + text.encode("utf-32-le"), "f") == (text, "utf-32-le")
    assert decode_text(text.encode("cp1252"), "f") == (text, "cp1252")
    assert decode_text(b"a\x81b", "f") == ("a\x81b", "cp1252")  # a byte cp1252 leaves undefined: as Latin-1
    with pytest.raises(DataError, match="f: starts with a UTF-16-LE byte-order mark"):
        decode_text(b"\xff\xfe" + "\ud800".encode("utf-16-le", "surrogatepass"), "f")


def test_vocabulary_by_frequency_then_alphabet_with_min_freq_and_cap():
    texts = ["b a a c", "a b d", "c e"]  # a:3 b:2 c:2 d:1 e:1
    tok = Tokenizer(min_freq=2).fit(texts)
    assert tok.vocab == ["<pad>", "<unk>", "a", "b", "c"]
    assert Tokenizer(min_freq=1, max_words=4).fit(texts).vocab == ["<pad>", "<unk>", "a", "b"]


def test_encode_pads_truncates_and_marks_unknown_words():
    tok = Tokenizer(min_freq=1, max_length=6).fit(["the cat sat", "the dog sat on the mat today"])
    assert tok.length == 6  # the longest text (7 words) cut to max_length
    ids = tok.encode(["The CAT flew", "the dog sat on the mat today"])
    assert ids.dtype == np.int64 and ids.shape == (2, 6)
    the, cat = tok.vocab.index("the"), tok.vocab.index("cat")
    assert ids[0].tolist() == [the, cat, UNK_ID, PAD_ID, PAD_ID, PAD_ID]
    assert tok.decode(ids[1]) == ["the", "dog", "sat", "on", "the", "mat"]


def test_length_follows_short_training_texts_but_fits_the_widest_filter():
    assert Tokenizer(min_freq=1).fit(["one two", "three"]).length == 5
    assert Tokenizer(min_freq=1).fit(["a b c d e f g h"]).length == 8


def test_tokenizer_round_trips_through_json():
    tok = Tokenizer(min_freq=1, max_length=50).fit(["alpha beta gamma", "beta gamma", "gamma"])
    again = Tokenizer.from_dict(json.loads(json.dumps(tok.to_dict())))
    texts = ["gamma alpha delta", "beta"]
    assert np.array_equal(again.encode(texts), tok.encode(texts))
    assert again.vocab == tok.vocab and again.length == tok.length


def test_tokenizer_errors():
    with pytest.raises(ValueError, match="call fit"):
        Tokenizer().encode(["x"])
    with pytest.raises(ValueError, match="not a saved tokenizer"):
        Tokenizer.from_dict({"vocab": []})
    with pytest.raises(ValueError, match="max_words"):
        Tokenizer(max_words=2)


# ── reading ──────────────────────────────────────────────────────────────────────────────────────────────
def _write(path, text: str, gz: bool = False):
    if gz:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_csv_header_detection_quotes_and_gzip(tmp_path):
    body = 'category,text\nsport,"Goals, goals and more goals"\ntech,"A new chip\nwith two lines"\n'
    path = _write(tmp_path / "news.csv.gz", body, gz=True)
    rows = read_text_csv(path)
    assert rows.texts == ["Goals, goals and more goals", "A new chip\nwith two lines"]
    assert rows.labels == ["sport", "tech"] and rows.ids == ["news.csv.gz:2", "news.csv.gz:3"]
    assert looks_like_text_csv(b"category,text\n") and not looks_like_text_csv(b"emotion,pixels,Usage\n")
    assert detect_format(path) == "text"


def test_csv_named_columns_and_split_column(tmp_path):
    path = _write(tmp_path / "r.csv", "id,stars,body,split\n1,5,great,train\n2,1,awful,test\n3,5,superb,train\n")
    rows = read_text_csv(path, text_column="body", label_column="Stars")
    assert rows.texts == ["great", "awful", "superb"] and rows.labels == ["5", "1", "5"]
    assert rows.splits == ["train", "test", "train"]
    parts, classes, _ = encode_rows(rows)
    assert classes == ["1", "5"] and sorted(parts) == ["test", "train"]
    assert parts["train"][1].tolist() == [1, 1] and parts["test"][1].tolist() == [0]


@pytest.mark.parametrize("body, message", [
    ("title,body\nx,y\n", "no label column"),
    ("label,title\nx,y\n", "no text column"),
    ("label,text\na,fine\nb\n", "line 3: 1 fields, expected 2"),
    ("label,text\n,empty label\n", "line 2: empty label"),
    ("label,text,split\na,x,holdout\n", "split 'holdout'"),
])
def test_csv_errors_name_the_line(tmp_path, body, message):
    with pytest.raises(DataError, match=message):
        read_text_csv(_write(tmp_path / "bad.csv", body))


def test_text_folder_with_latin1_file(tmp_path):
    for label, texts in {"pos": ["good film", "great fun"], "neg": ["bad plot"]}.items():
        (tmp_path / label).mkdir()
        for i, t in enumerate(texts):
            (tmp_path / label / f"{i}.txt").write_text(t)
    (tmp_path / "neg" / "9.txt").write_bytes("caf\xe9 au lait".encode("latin-1"))
    rows = read_text_folder(tmp_path)
    assert rows.labels == ["neg", "neg", "pos", "pos"]
    assert rows.texts[1] == "café au lait" and rows.ids[1] == "neg/9.txt"
    assert detect_format(tmp_path) == "text"


def test_stratified_holdout_per_class_and_deterministic():
    labels = np.repeat([0, 1, 2], [50, 30, 7])
    kept, held = stratified_holdout(labels, 0.2, seed=0)
    assert np.bincount(labels[held]).tolist() == [10, 6, 1]
    assert sorted(np.concatenate([kept, held]).tolist()) == list(range(len(labels)))
    assert np.array_equal(held, stratified_holdout(labels, 0.2, seed=0)[1])
    assert not np.array_equal(held, stratified_holdout(labels, 0.2, seed=1)[1])
    kept, held = stratified_holdout(labels, 0.0, seed=0)
    assert len(held) == 0 and len(kept) == len(labels)


def test_vocabulary_comes_from_the_training_rows_only(tmp_path):
    lines = ["label,text"] + [f"a,common alpha{i}" for i in range(10)] + [f"b,common beta{i}" for i in range(10)]
    lines += ["a,zzzonly zzzonly"]  # a word that exists in a single row
    rows = read_text_csv(_write(tmp_path / "t.csv", "\n".join(lines) + "\n"))
    for seed in range(4):  # the row lands in train for some seeds, in test for others
        parts, classes, tok = encode_rows(rows, test_split=0.5, seed=seed, min_freq=1)
        assert ("zzzonly" in tok.vocab) == ("t.csv:22" in parts["train"][2])
        assert "common" in tok.vocab and classes == ["a", "b"]


def test_encode_texts_matches_the_data_set_encoding(tmp_path):
    rows = read_text_csv(_write(tmp_path / "t.csv", "label,text\nx,one two three\ny,two three four\n"))
    parts, _, tok = encode_rows(rows, test_split=0, min_freq=1)
    meta = json.loads(json.dumps(text_meta(tok)))  # as stored in a checkpoint
    assert meta["model_options"] == {"vocab_size": tok.vocab_size}
    tokens = encode_texts(meta, rows.texts)
    assert tokens.dtype == torch.int64 and np.array_equal(tokens.numpy(), parts["train"][0])
    with pytest.raises(ValueError, match="not trained on text"):
        encode_texts({}, ["x"])


def test_bbc_arrays_and_split(data_dir):
    rows = read_text_csv(data_dir / "bbc" / "bbc-text.csv.gz")
    assert len(rows.texts) == 2225
    parts, classes, tok = encode_rows(rows, test_split=0.2, seed=0)
    assert classes == ["business", "entertainment", "politics", "sport", "tech"]
    assert np.bincount(parts["test"][1]).tolist() == [102, 77, 83, 102, 80]  # 20% of 510 386 417 511 401
    assert parts["train"][0].shape == (1781, 400) and parts["test"][0].shape == (444, 400)
    assert tok.vocab_size == 18171 and tok.unknown_rate(rows.texts[:100]) < 0.06  # words seen 2+ times


def test_load_data_reads_a_text_csv_into_a_dataset(tmp_path):
    body = "text,topic\n" + "".join(f"word{i % 3} filler,{'ab'[i % 2]}\n" for i in range(20))
    data = load_data(_write(tmp_path / "t.csv", body), min_freq=1)
    assert data.meta["kind"] == "text" and data.classes == ["a", "b"]
    assert len(data["train"]) == 16 and len(data["test"]) == 4
    assert data["train"].images.dtype == torch.int64
    more = load_data(tmp_path / "t.csv", meta=data.meta, classes=data.classes)
    assert list(more.splits) == ["train"] and torch.equal(more["train"].images[:1], encode_texts(data.meta,
                                                                                                 ["word0 filler"]))


# ── models ───────────────────────────────────────────────────────────────────────────────────────────────
@pytest.mark.parametrize("name", ["textcnn", "bow-dnn"])
def test_text_models_forward_backward(name):
    model = build(name, (40,), 5, vocab_size=300)
    tokens = torch.randint(0, 300, (6, 40))
    out = model(tokens)
    assert out.shape == (6, 5)
    out.sum().backward()
    assert model.embedding.weight.grad[PAD_ID].abs().sum() == 0  # padding never learns
    with pytest.raises(ValueError, match=r"token ids of shape \(L,\)"):
        build(name, (1, 28, 28), 5, vocab_size=300)
    with pytest.raises(ValueError, match="needs vocab_size"):
        build(name, (40,), 5)


def test_textcnn_is_max_over_time_of_ngram_dot_products():
    torch.manual_seed(0)
    model = build("textcnn", (12,), 3, vocab_size=50, embed_dim=4, filters=2, widths=(3,), pool="max").eval()
    tokens = torch.randint(2, 50, (1, 12))
    emb = model.embedding.weight[tokens[0]]  # (L, E)
    conv = model.convs[0]
    by_hand = torch.stack([torch.relu((conv.weight * emb[t:t + 3].T[None]).sum((1, 2)) + conv.bias)
                           for t in range(10)]).amax(0)  # (filters,)
    assert torch.allclose(model.feature_maps(tokens)[0][0].amax(1), by_hand, atol=1e-5)
    assert torch.allclose(model(tokens)[0], model.fc(by_hand), atol=1e-5)
    assert model.embedding.weight[PAD_ID].abs().sum() == 0 and model.embedding.weight.abs().max() <= 0.05


def test_textcnn_meanmax_pools_the_max_and_the_mean_over_windows_that_start_on_a_word():
    torch.manual_seed(0)
    model = build("textcnn", (12,), 3, vocab_size=50, embed_dim=4, filters=2, widths=(3,), pool="meanmax").eval()
    tokens = torch.randint(2, 50, (1, 12))
    tokens[0, 7:] = PAD_ID  # 7 words, then padding: windows 0..6 start on a word
    fmap = model.feature_maps(tokens)[0][0]  # (filters, 10)
    pooled = torch.cat([fmap.amax(1), fmap[:, :7].mean(1)])
    assert model.fc.in_features == 4 and torch.allclose(model(tokens)[0], model.fc(pooled), atol=1e-5)
    with pytest.raises(ValueError, match="pool must be one of max, meanmax"):
        build("textcnn", (12,), 3, vocab_size=50, pool="mean")


# ── pretrained vectors ───────────────────────────────────────────────────────────────────────────────────
def test_word2vec_and_glove_text_files_fill_the_embedding(tmp_path):
    tok = Tokenizer(min_freq=1).fit(["paris is big", "rome is old"])
    w2v = _write(tmp_path / "v.txt.gz", "3 2\nis 1 2\nParis 3 4\nnowhere 9 9\n", gz=True)
    vectors, found = load_word_vectors(w2v, tok.vocab)
    assert vectors.shape == (tok.vocab_size, 2)
    assert vectors[tok.vocab.index("paris")].tolist() == [3, 4] and found.sum() == 2
    glove = _write(tmp_path / "g.txt", "rome 0.5 -1\nRome 7 7\nold 1e-1 2\n")
    assert vector_dim(w2v) == vector_dim(glove) == 2
    model = build("textcnn", (tok.length,), 2, vocab_size=tok.vocab_size, embed_dim=2)
    before = model.embedding.weight.detach().clone()
    assert fill_embedding(model.embedding, glove, tok) == 2
    weight = model.embedding.weight.detach()
    assert weight[tok.vocab.index("rome")].tolist() == [0.5, -1.0]  # the exact word wins over "Rome"
    assert torch.allclose(weight[tok.vocab.index("old")], torch.tensor([0.1, 2.0]))
    assert torch.equal(weight[tok.vocab.index("big")], before[tok.vocab.index("big")])
    with pytest.raises(ValueError, match="embed_dim=2"):
        fill_embedding(build("textcnn", (tok.length,), 2, vocab_size=tok.vocab_size, embed_dim=8).embedding,
                       glove, tok)
    with pytest.raises(DataError, match="line 2: 1 numbers"):
        load_word_vectors(_write(tmp_path / "bad.txt", "a 1 2\nb 3\n"), tok.vocab)


# ── explanations ─────────────────────────────────────────────────────────────────────────────────────────
def test_explanation_finds_the_ngram_that_decides():
    rng = np.random.default_rng(0)
    filler = [f"w{i}" for i in range(30)]
    texts, labels = [], []
    for i in range(200):  # class 1 iff the text holds "not good at all"
        words = list(rng.choice(filler, 12))
        if i % 2:
            at = int(rng.integers(0, 8))
            words[at:at] = ["not", "good", "at", "all"]
        texts.append(" ".join(words))
        labels.append(i % 2)
    tok = Tokenizer(min_freq=1).fit(texts)
    x, y = torch.from_numpy(tok.encode(texts)), torch.tensor(labels)
    torch.manual_seed(0)
    model = build("textcnn", (tok.length,), 2, vocab_size=tok.vocab_size, embed_dim=16, filters=8)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny ops: extra threads only wait on each other (on a busy machine, 10× slower)
    try:
        for _ in range(60):
            loss = torch.nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    finally:
        torch.set_num_threads(threads)
    exp = explain_text(model, text_meta(tok), "w1 w2 w3 not good at all w4 w5 newword", ["plain", "negated"])
    assert exp.predicted == "negated" and exp.probabilities[1] > 0.9
    assert sorted(exp.ngrams) == [3, 4, 5] and all(len(rows) == 5 for rows in exp.ngrams.values())
    best = exp.ngrams[3][0]
    assert best.pushes == "negated" and best.contribution > 0
    assert set(best.words) & {"not", "good", "at", "all"}
    report = render_explanation(exp)
    assert report.splitlines()[1].startswith("predicted: negated") and "width 5:" in report
    with pytest.raises(ValueError, match="need a textcnn"):
        explain_text(build("bow-dnn", (10,), 2, vocab_size=5), text_meta(tok), "x")
    assert isinstance(model, TextCNN)


def test_a_textcnn_run_saved_before_meanmax_pooling_still_loads_and_resumes(tmp_path):
    """Checkpoints of version 1 were saved when textcnn pooled max only: they rebuild with pool="max"."""
    from cnnlab.runs.checkpoint import load_checkpoint
    from cnnlab.runs.rundir import load_run
    from cnnlab.training.config import TrainConfig
    from cnnlab.training.pipeline import train

    words = ["goal match team cup", "vote party election minister", "film actor award music"]
    lines = ["label,text"] + [f"{k},{words[k]} {words[k].split()[i % 4]} row{i}" for k in range(3) for i in range(12)]
    csv = _write(tmp_path / "t.csv", "\n".join(lines) + "\n")
    run = train(TrainConfig(data=str(csv), model="textcnn", epochs=1, batch_size=8, threads=1, schedule="constant",
                            runs_dir=str(tmp_path / "runs"), test_split=0.25))
    state = load_checkpoint(run.run_dir / "best.pt")  # as the earlier cnnlab wrote them: a max-pooling head
    old = build("textcnn", tuple(state["input_shape"]), 3, pool="max", **state["input_meta"]["model_options"])
    save_as_older_version(run.run_dir, old, 1, torch.optim.Adam)
    loaded = load_run(run.run_dir)
    assert loaded.model.pool == "max" and loaded.model.fc.in_features == 3 * 128
    tokens = encode_texts(loaded.checkpoint["input_meta"], ["the team won the cup"])
    assert loaded.model(tokens).shape == (1, 3)
    config = TrainConfig.from_dict({**load_checkpoint(run.run_dir / "last.pt")["config"], "epochs": 2})
    resumed = train(config, resume_dir=run.run_dir)  # as `cnnlab train --resume RUN --epochs 2` does
    assert len(resumed.fit.history) == 2
