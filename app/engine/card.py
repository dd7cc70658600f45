"""The model card (models/<name>/README.md), written from config.json so it never disagrees with it."""
from __future__ import annotations


def _bpc(value) -> str:
    return f"{value:.4f}" if isinstance(value, (int, float)) else "n/a"


def render_card(config: dict, command: str | None = None) -> str:
    name = config["name"]
    model = config["model"]
    training = config.get("training", {})
    results = config.get("results", {})
    ngram = results.get("ngram", {})
    corpus = config.get("corpus", {})
    split = config.get("split", {})
    arch = {"lstm": "LSTM", "gru": "GRU", "rnn": "vanilla RNN (tanh)"}[model["arch"]]
    input_kind = f"embedding of size {model['embedding_size']}" if model.get("embedding_size") else "one-hot"
    lines = [
        f"# {name}",
        "",
        f"A character-level {arch} language model: {model['n_layers']} layers x {model['hidden_size']} units, "
        f"{input_kind} input, {training.get('parameters', 'n/a'):,} parameters, vocabulary of "
        f"{model['vocab_size']} symbols (including the unknown symbol).",
        "",
        "## Data",
        "",
        f"Corpus `{corpus.get('name', 'unknown')}`: {len(corpus.get('files', []))} files, sha256 of the files "
        f"concatenated in byte order of their paths `{corpus.get('sha256', 'n/a')}`.",
        f"Split per file: the head for training, then a contiguous tail: {split.get('val_fraction', 0):.0%} validation "
        f"and {split.get('test_fraction', 0):.0%} test (train {split.get('train_chars', 0):,}, "
        f"val {split.get('val_chars', 0):,}, test {split.get('test_chars', 0):,} characters).",
        "",
        "## Results (bits per character)",
        "",
        "| split | this model | n-gram baseline |",
        "| --- | --- | --- |",
        f"| validation | {_bpc(results.get('val_bpc'))} | {_bpc(ngram.get('val_bpc'))} |",
        f"| test | {_bpc(results.get('test_bpc'))} | {_bpc(ngram.get('test_bpc'))} |",
        "",
    ]
    if ngram:
        gain = (1 - results["test_bpc"] / ngram["test_bpc"]) if results.get("test_bpc") else None
        lines += [
            f"The baseline is {ngram.get('method', 'a character n-gram model')} of order {ngram.get('order')} "
            f"(orders {min(ngram.get('orders_tried', [0]))} to {max(ngram.get('orders_tried', [0]))} tried, "
            "the best on validation kept), fitted on the same training split.",
            (f"This model's test bits/char are {abs(gain):.1%} {'below' if gain >= 0 else 'above'} the baseline's."
             if gain is not None else ""),
            "",
        ]
    lines += [
        "## Training",
        "",
        f"{training.get('steps', 'n/a')} steps (best validation at step {training.get('steps_at_best', 'n/a')}), "
        f"{training.get('training_time_s', 0) / 60:.0f} minutes of training on CPU; batch of "
        f"{training.get('batch_size')} streams x {training.get('seq_len')} characters (truncated BPTT, state "
        f"carried between chunks), {training.get('optimizer')} at learning rate {training.get('lr')} with a "
        f"{training.get('schedule')} schedule ({training.get('warmup_steps')} warm-up steps), gradient norm "
        f"clipped at {training.get('grad_clip')}, dropout {model.get('dropout')}, seed {training.get('seed')}. "
        f"Weights are stored as {config.get('weights_dtype', 'float32')}.",
        "",
    ]
    if command:
        lines += ["Reproduce:", "", "```", command, "```", ""]
    lines += ["Format: see [models/README.md](../README.md).", ""]
    return "\n".join(lines)
