"""Command line, data, training loop and checkpoints."""
