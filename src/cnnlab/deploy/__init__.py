"""Deployment: ONNX export checked against PyTorch, and torch-free inference with onnxruntime."""
