"""The teaching reference: convolution, pooling, dense layers and image filters written out in NumPy.

Readable rather than fast, and tested against torch.nn.functional and scipy.ndimage.
"""
from cnnlab.explain.ops.conv import conv2d, pad_image, window_terms
from cnnlab.explain.ops.layers import dense, flatten, relu, softmax
from cnnlab.explain.ops.pool import avg_pool2d, max_pool2d
from cnnlab.explain.ops.sizes import formula_text, output_size, resolve_padding, same_padding

__all__ = ["conv2d", "pad_image", "window_terms", "dense", "flatten", "relu", "softmax", "avg_pool2d",
           "max_pool2d", "formula_text", "output_size", "resolve_padding", "same_padding"]
