"""ImageNet backbones: torchvision's layout (names, shapes, parameter counts), their published weight files
(SHA-256, cache, download from a local HTTP server on 127.0.0.1) and `--pretrained` end to end."""
import dataclasses
import functools
import http.server
import threading

import pytest
import torch

from cnnlab.cli import main
from photo_helpers import two_class_photos
from cnnlab.data import DataError
from cnnlab.data.download import file_sha256
from cnnlab.models import MODELS, build
from cnnlab.models.backbones import PRETRAINED, adapt_state
from cnnlab.runs.pretrained import locate_weights, weights_dir

# torchvision's published parameter counts (the `num_params` of each IMAGENET1K_V1 weights entry)
NUM_PARAMS = {"resnet18-imagenet": 11_689_512, "resnet50": 25_557_032, "mobilenet_v3_small": 2_542_856,
              "mobilenet_v3_large": 5_483_032, "efficientnet_b0": 5_288_548, "convnext_tiny": 28_589_128}
# a few of torchvision's state_dict keys with their shapes, one deep in each model
KEYS = {"resnet18-imagenet": ("layer4.1.bn2.running_var", (512,)), "resnet50": ("layer3.0.downsample.0.weight",
                                                                       (1024, 512, 1, 1)),
        "mobilenet_v3_small": ("features.1.block.1.fc1.weight", (8, 16, 1, 1)),
        "mobilenet_v3_large": ("features.4.block.2.fc2.bias", (72,)),
        "efficientnet_b0": ("features.2.1.block.2.fc1.weight", (6, 144, 1, 1)),
        "convnext_tiny": ("features.5.8.layer_scale", (384, 1, 1))}


@pytest.mark.parametrize("name", sorted(NUM_PARAMS))
def test_backbone_has_torchvisions_layout_and_parameter_count(name):
    with torch.device("meta"):  # shapes only: no memory, no initialisation
        model = build(name, (3, 224, 224), 1000)
    assert sum(p.numel() for p in model.parameters()) == NUM_PARAMS[name]
    key, shape = KEYS[name]
    assert tuple(model.state_dict()[key].shape) == shape
    assert MODELS[name].pretrained is PRETRAINED[name]


@pytest.mark.parametrize("name", sorted(NUM_PARAMS))
def test_backbone_sizes_its_head_and_first_conv_to_the_data(name):
    with torch.device("meta"):
        model = build(name, (1, 32, 32), 5).eval()
        assert model(torch.rand(2, 1, 32, 32)).shape == (2, 5)
    spec = PRETRAINED[name]
    assert model.state_dict()[spec.first_conv].shape[1] == 1
    assert [tuple(v.shape) for k, v in model.state_dict().items() if k.startswith(spec.head)][-1] == (5,)


@pytest.mark.parametrize("name", ["mobilenet_v3_small", "resnet18-imagenet"])
def test_backbone_runs_on_gray_images(name):
    model = build(name, (1, 32, 32), 5).eval()
    assert torch.isfinite(model(torch.rand(2, 1, 32, 32))).all()


def test_backbone_refuses_inputs_it_cannot_take():
    with pytest.raises(ValueError, match="at least 32x32"):
        build("convnext_tiny", (3, 28, 28), 10)
    with pytest.raises(ValueError, match="1 \\(gray\\) or 3 \\(RGB\\)"):
        build("resnet18-imagenet", (4, 64, 64), 10)


def test_same_keys_and_shapes_as_torchvision():
    models = pytest.importorskip("torchvision.models", exc_type=ImportError)
    for name in NUM_PARAMS:
        ours = {k: v.shape for k, v in build(name, (3, 224, 224), 1000).state_dict().items()}
        theirs = {k: v.shape for k, v in getattr(models, name.replace("-imagenet", ""))().state_dict().items()}
        assert ours == theirs, name


def test_file_names_embed_the_start_of_the_full_sha256():
    for name, spec in PRETRAINED.items():
        assert len(spec.sha256) == 64 and spec.file.endswith(f"-{spec.sha256[:8]}.pth"), name
        assert spec.url == f"https://download.pytorch.org/models/{spec.file}"


def test_adapt_state_sums_rgb_filters_for_gray_input_and_leaves_the_head_fresh():
    source = build("resnet18-imagenet", (3, 64, 64), 1000)
    state = source.state_dict()
    target = build("resnet18-imagenet", (1, 64, 64), 4)
    head = target.fc.weight.detach().clone()
    fresh = adapt_state(state, target, PRETRAINED["resnet18-imagenet"], "w.pth")
    assert fresh == ["fc.weight", "fc.bias"]
    assert torch.equal(target.fc.weight, head)
    assert torch.allclose(target.conv1.weight, state["conv1.weight"].sum(1, keepdim=True))
    assert torch.equal(target.layer4[1].bn2.running_var, state["layer4.1.bn2.running_var"])
    mean, std = PRETRAINED["resnet18-imagenet"].normalization(1)  # gray: the average of ImageNet's RGB statistics
    assert mean == pytest.approx([0.449]) and std == pytest.approx([0.226])
    # a gray image gives the same first-conv response as the same image in RGB
    gray = torch.rand(1, 1, 64, 64)
    assert torch.allclose(target.conv1(gray), source.conv1(gray.expand(-1, 3, -1, -1)), atol=1e-5)


def test_adapt_state_keeps_the_imagenet_head_for_1000_classes_and_rejects_other_models_weights():
    state = build("mobilenet_v3_small", (3, 64, 64), 1000).state_dict()
    target = build("mobilenet_v3_small", (3, 64, 64), 1000)
    assert adapt_state(state, target, PRETRAINED["mobilenet_v3_small"], "w.pth") == []
    assert all(torch.equal(v, state[k]) for k, v in target.state_dict().items())
    with pytest.raises(ValueError, match="w.pth: not the weights of this model"):
        adapt_state(state, build("mobilenet_v3_large", (3, 64, 64), 3), PRETRAINED["mobilenet_v3_large"], "w.pth")


class _Handler(http.server.SimpleHTTPRequestHandler):
    requests = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        _Handler.requests.append(self.path)
        super().do_GET()


@pytest.fixture
def weights(tmp_path, monkeypatch):
    """A generated mobilenet_v3_small weight file served from 127.0.0.1, registered under its own SHA-256;
    the cache in tmp_path.  Returns (file, set_sha256)."""
    folder = tmp_path / "served"
    folder.mkdir()
    spec = PRETRAINED["mobilenet_v3_small"]
    file = folder / spec.file
    torch.manual_seed(0)
    torch.save(build("mobilenet_v3_small", (3, 224, 224), 1000).state_dict(), file)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(_Handler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.delenv("CNNLAB_WEIGHTS_MIRROR", raising=False)
    monkeypatch.setenv("CNNLAB_CACHE", str(tmp_path / "cache"))
    _Handler.requests = []

    def set_sha256(sha256):
        entry = MODELS["mobilenet_v3_small"]
        monkeypatch.setitem(MODELS, "mobilenet_v3_small", dataclasses.replace(
            entry, pretrained=dataclasses.replace(entry.pretrained, sha256=sha256, base_url=url)))

    set_sha256(file_sha256(file))
    yield file, set_sha256
    server.shutdown()
    server.server_close()


def test_weights_download_once_into_the_cache(weights):
    file, _ = weights
    path = locate_weights("mobilenet_v3_small")
    assert path == weights_dir() / file.name and path.read_bytes() == file.read_bytes()
    assert locate_weights("mobilenet_v3_small") == path
    assert _Handler.requests == [f"/{file.name}"]  # the second call used the cache


def test_wrong_sha256_stops_with_one_line_and_leaves_nothing_in_the_cache(weights):
    file, set_sha256 = weights
    set_sha256("0" * 64)
    with pytest.raises(DataError) as err:
        locate_weights("mobilenet_v3_small")
    assert "\n" not in str(err.value) and "checksum mismatch (SHA-256" in str(err.value)
    assert not weights_dir().parent.exists() or not any(weights_dir().parent.rglob("*.*"))
    with pytest.raises(DataError, match="does not match"):  # a local file is checked too
        locate_weights("mobilenet_v3_small", file)
    assert not weights_dir().exists()


def test_a_local_weight_file_is_used_as_it_is(weights):
    file, _ = weights
    assert locate_weights("mobilenet_v3_small", file) == file
    assert _Handler.requests == [] and not weights_dir().exists()
    with pytest.raises(ValueError, match="has no pretrained weights; these do: resnet18-imagenet"):
        locate_weights("cnn")



def test_train_with_pretrained_weights_normalises_with_imagenet_statistics(weights, tmp_path, capsys):
    data = two_class_photos(tmp_path / "photos", side=32)
    code = main(["train", str(data), "--model", "mobilenet_v3_small", "--pretrained", "--epochs", "1",
                 "--batch-size", "4", "--val-split", "0.25", "--eval-batch-size", "8", "--runs-dir", str(tmp_path / "runs")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "newly initialised: classifier.3.weight, classifier.3.bias" in out
    run = next((tmp_path / "runs").iterdir())
    state = torch.load(run / "best.pt", weights_only=True)
    assert torch.allclose(state["preprocess"]["mean"].flatten(), torch.tensor([0.485, 0.456, 0.406]))
    served = torch.load(weights[0], weights_only=True)
    key = "features.1.block.0.0.weight"  # one epoch of training moves it only slightly from the file's
    assert torch.allclose(state["model_state"][key], served[key], atol=0.05)


def test_models_lists_which_take_pretrained_weights_and_where(weights, capsys):
    assert main(["models", "--input", "3x32x32"]) == 0
    out = capsys.readouterr().out
    line = next(row for row in out.splitlines() if row.startswith("resnet18-imagenet "))
    assert line.split()[3] == "yes"
    assert str(weights_dir()) in out.splitlines()[-1]
    assert main(["models", "--weights"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert str(weights_dir()) in rows[0] and len(rows) == 1 + len(NUM_PARAMS)
    assert rows[-1].split() == ["convnext_tiny", "convnext_tiny-983f1562.pth", "-",
                                "https://download.pytorch.org/models/convnext_tiny-983f1562.pth"]
