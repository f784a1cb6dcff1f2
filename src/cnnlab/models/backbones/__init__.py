"""ImageNet backbones in the model registry, each a builder(input_shape, num_classes) with the classifier sized
to the data, and the published torchvision weights it can start from (`cnnlab train --pretrained`).

The layouts follow the papers and torchvision's definitions (torchvision/models/{resnet,mobilenetv3,efficientnet,
convnext}.py), module for module, so that torchvision's ImageNet state_dicts load by name.  Gray (1-channel)
input: the first conv takes one channel, and its pretrained RGB filters are summed over the channels (spec.py).
Names are torchvision's, except ResNet-18's: `resnet18` is the course's small-image ResNet-18 (models/resnet.py,
3×3 stem, no max-pool), so torchvision's is `resnet18-imagenet`.

SHA-256: torchvision names each file after the first 8 hex digits of its SHA-256 and checks only that prefix; the
full digests below were computed by third parties over the downloaded files (each agrees with its prefix, which
tests check), and cnnlab checks the whole digest.
"""
from __future__ import annotations

from cnnlab.models.backbones.convnext import ConvNeXt
from cnnlab.models.backbones.efficientnet import EfficientNet
from cnnlab.models.backbones.layers import check_input
from cnnlab.models.backbones.mobilenet import LARGE, SMALL, MobileNetV3
from cnnlab.models.backbones.resnet import BasicBlock, Bottleneck, ResNet
from cnnlab.models.backbones.spec import IMAGENET_MEAN, IMAGENET_STD, Pretrained, adapt_state
from cnnlab.models.registry import register

__all__ = ["PRETRAINED", "Pretrained", "adapt_state", "IMAGENET_MEAN", "IMAGENET_STD"]

PRETRAINED: dict[str, Pretrained] = {  # IMAGENET1K_V1 of each, as torchvision's *_Weights enums name them
    "resnet18-imagenet": Pretrained("resnet18-f37072fd.pth",
                           "f37072fd47e89c5e827621c5baffa7500819f7896bbacec160b1a16c560e07ec", "conv1.weight", "fc."),
    "resnet50": Pretrained("resnet50-0676ba61.pth",
                           "0676ba61b6795bbe1773cffd859882e5e297624d384b6993f7c9e683e722fb8a", "conv1.weight", "fc."),
    "mobilenet_v3_small": Pretrained(
        "mobilenet_v3_small-047dcff4.pth", "047dcff4addef86ea5bc2eff13c9614dc11f47ab1160d0a71a25e7db994f4e1f",
        "features.0.0.weight", "classifier.3."),
    "mobilenet_v3_large": Pretrained(
        "mobilenet_v3_large-8738ca79.pth", "8738ca797c879b547d18bbd15da5736ff2557b2036a9af72225393ca61759a04",
        "features.0.0.weight", "classifier.3."),
    "efficientnet_b0": Pretrained(
        "efficientnet_b0_rwightman-7f5810bc.pth", "7f5810bc96def8f7552d5b7e68d53c4786f81167d28291b21c0d90e1fca14934",
        "features.0.0.weight", "classifier.1."),
    "convnext_tiny": Pretrained(
        "convnext_tiny-983f1562.pth", "983f1562536e84ff750a1576fb08e54de751dbf2e17c0d8a4a13704341fdcd3d",
        "features.0.0.weight", "classifier.2."),
}


@register("resnet18-imagenet", "ResNet-18 (He 2016), ImageNet layout (7×7 stem, max-pool); --pretrained: torchvision "
          "weights", pretrained=PRETRAINED["resnet18-imagenet"])
def resnet18(input_shape: tuple[int, ...], num_classes: int) -> ResNet:
    return ResNet(BasicBlock, (2, 2, 2, 2), num_classes, check_input("resnet18-imagenet", input_shape, 1))


@register("resnet50", "ResNet-50 (He 2016, v1.5), ImageNet layout; --pretrained: torchvision weights",
          pretrained=PRETRAINED["resnet50"])
def resnet50(input_shape: tuple[int, ...], num_classes: int) -> ResNet:
    return ResNet(Bottleneck, (3, 4, 6, 3), num_classes, check_input("resnet50", input_shape, 1))


@register("mobilenet_v3_small", "MobileNetV3-Small (Howard 2019); --pretrained: torchvision weights",
          pretrained=PRETRAINED["mobilenet_v3_small"])
def mobilenet_v3_small(input_shape: tuple[int, ...], num_classes: int) -> MobileNetV3:
    return MobileNetV3(SMALL, 1024, num_classes, check_input("mobilenet_v3_small", input_shape, 1))


@register("mobilenet_v3_large", "MobileNetV3-Large (Howard 2019); --pretrained: torchvision weights",
          pretrained=PRETRAINED["mobilenet_v3_large"])
def mobilenet_v3_large(input_shape: tuple[int, ...], num_classes: int) -> MobileNetV3:
    return MobileNetV3(LARGE, 1280, num_classes, check_input("mobilenet_v3_large", input_shape, 1))


@register("efficientnet_b0", "EfficientNet-B0 (Tan & Le 2019); --pretrained: torchvision weights",
          pretrained=PRETRAINED["efficientnet_b0"])
def efficientnet_b0(input_shape: tuple[int, ...], num_classes: int) -> EfficientNet:
    return EfficientNet(num_classes, check_input("efficientnet_b0", input_shape, 1))


@register("convnext_tiny", "ConvNeXt-Tiny (Liu 2022), needs ≥ 32 px; --pretrained: torchvision weights",
          pretrained=PRETRAINED["convnext_tiny"])
def convnext_tiny(input_shape: tuple[int, ...], num_classes: int) -> ConvNeXt:
    return ConvNeXt(num_classes, check_input("convnext_tiny", input_shape, 32))
