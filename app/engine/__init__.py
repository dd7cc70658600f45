"""The char-RNN engine: models, hidden-state capture, checkpoints, training and sampling.

Everything here is plain PyTorch and numpy, usable from a notebook without the web app.
"""
