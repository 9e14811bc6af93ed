"""Real upsampling architectures written in PyTorch for the model-import tests (random weights, no downloads)."""
