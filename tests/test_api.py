import numpy as np

from cnnlab import Classifier


def test_keras_life_cycle(tmp_path, mini):
    train, test = mini["train"], mini["test"]
    clf = Classifier("mnist-2conv").compile(loss="categorical_crossentropy", optimizer="adam")
    x = train.images[:800, 0].numpy().astype(np.float32) / 255  # Keras-style floats in [0, 1], (N, H, W)
    y = np.eye(10)[train.labels[:800].numpy()]  # one-hot, as to_categorical makes
    history = clf.fit(x, y, epochs=2, batch_size=64, validation_split=0.1)
    assert len(history) == 2 and "val_acc" in history[-1]
    scores = clf.evaluate(test.images[:300], test.labels[:300])
    assert scores["acc"] > 0.7
    probs = clf.predict(test.images[:5])
    assert probs.shape == (5, 10) and np.allclose(probs.sum(1), 1, atol=1e-4)
    clf.save(tmp_path / "m.pt")
    again = Classifier.load(tmp_path / "m.pt")
    assert np.allclose(again.predict(test.images[:5]), probs, atol=1e-3)
    assert again.evaluate(test.images[:300], test.labels[:300])["acc"] == scores["acc"]


def test_a_loaded_classifier_predicts_the_same_bits_as_the_trained_one(tmp_path, mini):
    """The model comes back in the memory format it trained in (channels-last by default), so the same
    convolution kernels run: NCHW weights against channels-last inputs gave probabilities ~5e-6 apart."""
    import torch

    train, test = mini["train"], mini["test"]
    clf = Classifier("mnist-2conv").compile(loss="categorical_crossentropy", optimizer="adam")
    clf.fit(train.images[:300], train.labels[:300], epochs=1, batch_size=64)
    probs = clf.predict(test.images[:64])
    clf.save(tmp_path / "m.pt")
    again = Classifier.load(tmp_path / "m.pt")
    assert again.model[4].weight.is_contiguous(memory_format=torch.channels_last)  # the 32→64 conv
    assert np.array_equal(again.predict(test.images[:64]), probs)
