"""The course's MNIST recipe in Keras (TensorFlow backend): the reference cnnlab's MNIST figures are compared to.

Conv 32 3×3 → MaxPool 2 → Dropout .25 → Conv 64 3×3 → MaxPool 2 → Dropout .25 → Flatten → Dense 128 → Dropout .25
→ Dense 10 softmax; Adam, batch 128, 12 epochs, inputs x/255, validated on the test split as the slide does.
Reads the IDX files from $CNNLAB_DATA/mnist (no download).  Prints `test_acc …` and `seconds …` at the end.

    .venv-keras/bin/python bench/keras_mnist.py [--epochs 12] [--limit N]
"""
import argparse
import gzip
import os
import time
from pathlib import Path

START = time.perf_counter()

import numpy as np  # noqa: E402


def read_idx(path: Path) -> np.ndarray:
    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--limit", type=int, default=None, help="train on the first N images (smoke runs)")
    args = parser.parse_args()
    folder = Path(os.environ.get("CNNLAB_DATA", "../shared/data")) / "mnist"
    x_train = read_idx(folder / "train-images-idx3-ubyte.gz")[:args.limit, :, :, None].astype("float32") / 255
    y_train = read_idx(folder / "train-labels-idx1-ubyte.gz")[:args.limit]
    x_test = read_idx(folder / "t10k-images-idx3-ubyte.gz")[:, :, :, None].astype("float32") / 255
    y_test = read_idx(folder / "t10k-labels-idx1-ubyte.gz")

    import keras
    from keras import layers

    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(2), layers.Dropout(0.25),
        layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2), layers.Dropout(0.25),
        layers.Flatten(), layers.Dense(128, activation="relu"), layers.Dropout(0.25),
        layers.Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    # one line per epoch with the wall time since process start, for time-to-accuracy
    report = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: print(
        f"epoch {epoch + 1} test_acc {logs['val_accuracy']:.4f} seconds {time.perf_counter() - START:.2f}",
        flush=True))
    model.fit(x_train, y_train, batch_size=128, epochs=args.epochs, verbose=0,
              validation_data=(x_test, y_test), callbacks=[report])
    loss, acc = model.evaluate(x_test, y_test, verbose=0)
    elapsed = time.perf_counter() - START
    print(f"keras {keras.__version__} backend {keras.backend.backend()}")
    print(f"test_loss {loss:.4f}")
    print(f"test_acc {acc:.4f}")
    print(f"seconds {elapsed:.1f}")


if __name__ == "__main__":
    main()
