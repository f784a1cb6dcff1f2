"""Modalities: what each kind of input (image, text, audio) needs beyond the in-memory tensors of cnnlab.data."""
