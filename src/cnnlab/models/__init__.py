"""Models: pure nn.Module builders behind a registry (name → builder(input_shape, num_classes))."""
from cnnlab.models import course, fast  # noqa: F401  (registers the course's models and cnnlab's fast one)
from cnnlab.models import lenet, alexnet, vgg, googlenet, resnet  # noqa: F401  (the case studies, in order of publication)
from cnnlab.models import text, audio  # noqa: F401  (textcnn, bow-dnn on token ids; audio-cnn on spectrograms)
from cnnlab.models import whitenet  # noqa: F401  (the colour recipes' patch-whitened network)
from cnnlab.models import backbones  # noqa: F401  (ImageNet backbones that take torchvision's published weights)
from cnnlab.models.flops import count_flops, count_macs, layer_macs
from cnnlab.models.registry import (DATA_INIT_SAMPLE, MODELS, ModelSpec, build, count_parameters, data_init_modules,
                                    init_from_data, register)
from cnnlab.models.summary import layer_rows, summary_table

__all__ = ["MODELS", "ModelSpec", "build", "count_parameters", "register", "layer_rows", "summary_table",
           "count_macs", "count_flops", "layer_macs", "init_from_data", "data_init_modules",
           "DATA_INIT_SAMPLE"]
