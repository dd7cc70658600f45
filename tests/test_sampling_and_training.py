import math

import numpy as np
import pytest
import torch

from app.engine.data import Splits, split_corpus, stream_batches, CorpusFile
from app.engine.ngram import KneserNey, fit_best_ngram
from app.engine.sampling import sample
from app.engine.stepwise import fast_matmul_dtype
from app.engine.training import TrainConfig, Trainer, evaluate_bpc
from tests.conftest import make_model


def test_same_seed_gives_same_sample(vocab):
    model = make_model("lstm", vocab.size)
    a = "".join(s.char for s in sample(model, vocab, "She ", 40, temperature=0.8, seed=7))
    b = "".join(s.char for s in sample(model, vocab, "She ", 40, temperature=0.8, seed=7))
    c = "".join(s.char for s in sample(model, vocab, "She ", 40, temperature=0.8, seed=8))
    assert a == b and len(a) == 40 and a != c


def test_sample_returns_the_activations_of_each_new_character(vocab):
    model = make_model("gru", vocab.size)
    chars = list(sample(model, vocab, "a", 5, names=["layers.1.h"], units=[0, 3]))
    assert all(c.states["layers.1.h"].shape == (2,) for c in chars)


def test_sample_rejects_non_positive_temperature(vocab):
    with pytest.raises(ValueError, match="temperature"):
        next(sample(make_model("rnn", vocab.size), vocab, "a", 3, temperature=0))


def test_split_takes_a_contiguous_tail_of_every_file():
    files = [CorpusFile("a", "a" * 80 + "b" * 10 + "c" * 10, ""), CorpusFile("b", "x" * 80 + "y" * 10 + "z" * 10, "")]
    splits = split_corpus(files, 0.1, 0.1)
    assert splits == Splits(train="a" * 80 + "x" * 80, val="b" * 10 + "y" * 10, test="c" * 10 + "z" * 10)


def test_stream_batches_continue_each_stream():
    ids = np.arange(101)
    batches = list(stream_batches(ids, batch_size=2, seq_len=10))
    (x0, y0), (x1, _) = batches[0], batches[1]
    assert x0[0, -1] + 1 == x1[0, 0] and torch.equal(y0, x0 + 1)


def test_a_few_training_steps_lower_the_loss(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("abcabcabd " * 400)
    cfg = TrainConfig(name="t", corpus=[str(corpus)], out_dir=str(tmp_path / "models"), resume_dir=str(tmp_path / "ck"),
                      hidden_size=16, batch_size=4, seq_len=16, max_steps=60, warmup_steps=5, lr=1e-2,
                      eval_every=30, save_every=30)
    trainer = Trainer(cfg)
    before = evaluate_bpc(trainer.model, trainer.val_ids)
    trainer.run()
    assert evaluate_bpc(trainer.model, trainer.val_ids) < before - 0.5
    assert (tmp_path / "models" / "t" / "model.safetensors").is_file()


def test_training_resumes_from_its_checkpoint(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("hello world. " * 200)
    common = dict(name="r", corpus=[str(corpus)], out_dir=str(tmp_path / "m"), resume_dir=str(tmp_path / "ck"),
                  hidden_size=8, batch_size=2, seq_len=8, warmup_steps=2, eval_every=5, save_every=5)
    Trainer(TrainConfig(max_steps=10, **common)).run()
    resumed = Trainer(TrainConfig(max_steps=15, **common))
    summary = resumed.run()
    assert summary["resumed"] and summary["step"] == 15 and len(resumed.history) == 3


def test_kneser_ney_distribution_sums_to_one():
    rng = np.random.default_rng(0)
    train = rng.integers(0, 5, 2000)
    model = KneserNey(train, 5, max_order=4)
    context = rng.integers(0, 5, 10)
    total = sum(model.probabilities(np.append(context, w), 4)[-1] for w in range(5))
    assert math.isclose(total, 1.0, rel_tol=1e-9)


def test_ngram_picks_a_useful_order_on_predictable_text(vocab):
    from app.engine.vocab import Vocabulary

    text = "abcdefg" * 500
    v = Vocabulary.from_text(text)
    result = fit_best_ngram(Splits(train=text, val=text[:700], test=text[:700]), v, max_order=6)
    assert result["order"] >= 2 and result["test_bpc"] < 0.2


def test_kneser_ney_handles_high_orders_with_a_large_vocabulary():
    rng = np.random.default_rng(1)
    train = np.tile(rng.integers(0, 300, 50), 40)  # a repeated 50-symbol phrase: long contexts pay off
    model = KneserNey(train, 300, max_order=14)
    assert model.bits_per_char(train[:500], 14) < model.bits_per_char(train[:500], 2) < 1.0
    total = sum(model.probabilities(np.append(train[:30], w), 14)[-1] for w in range(300))
    assert math.isclose(total, 1.0, rel_tol=1e-9)


def test_ngram_search_tries_at_least_eight_orders_and_stops_when_longer_contexts_stop_helping():
    from app.engine.vocab import Vocabulary

    rng = np.random.default_rng(2)
    text, held_out = ("".join(rng.choice(list("ab"), n)) for n in (3000, 500))  # i.i.d.: long contexts only overfit
    v = Vocabulary.from_text(text)
    result = fit_best_ngram(Splits(train=text, val=held_out, test=held_out), v, max_order=20)
    assert result["orders_tried"][:8] == list(range(1, 9))
    assert len(result["orders_tried"]) == max(8, result["order"] + 2)


def _bf16_config(tmp_path) -> TrainConfig:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("abcabcabd " * 400)
    return TrainConfig(name="b", corpus=[str(corpus)], out_dir=str(tmp_path / "m"), resume_dir=str(tmp_path / "ck"),
                       hidden_size=16, batch_size=4, seq_len=16, max_steps=60, warmup_steps=5, lr=1e-2,
                       eval_every=30, save_every=30, precision="bf16")


@pytest.mark.skipif(fast_matmul_dtype() != torch.bfloat16, reason="this CPU has no native bfloat16")
def test_bf16_training_lowers_the_loss_too(tmp_path):
    trainer = Trainer(_bf16_config(tmp_path))
    before = evaluate_bpc(trainer.model, trainer.val_ids)
    trainer.run()
    assert evaluate_bpc(trainer.model, trainer.val_ids) < before - 0.5


def test_bf16_training_on_a_cpu_without_bfloat16_says_to_use_fp32(tmp_path, monkeypatch):
    monkeypatch.setattr("app.engine.training.fast_matmul_dtype", lambda: torch.float32)
    trainer = Trainer(_bf16_config(tmp_path))
    with pytest.raises(ValueError, match="native bfloat16.*--precision fp32"):
        trainer.run()
    assert trainer.step == 0


def test_train_command_caches_the_ngram_baseline_per_corpus_and_split(tmp_path, capsys):
    import json

    from app.train import main

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the cat sat on the mat. " * 200)
    args = ["--name", "x", "--corpus", str(corpus), "--resume-dir", str(tmp_path / "ck"), "--out-dir",
            str(tmp_path / "m"), "--hidden", "8", "--baseline-only", "--ngram-max-order", "4"]
    main(args)
    first = json.loads(capsys.readouterr().out)
    cached = list((tmp_path / "ck").glob("ngram-*-val0.05-test0.05-max4.json"))
    assert len(cached) == 1 and json.loads(cached[0].read_text()) == first
    main(["--name", "other-model", *args[2:]])  # another model on the same corpus and split reuses it
    assert json.loads(capsys.readouterr().out) == first and len(list((tmp_path / "ck").glob("ngram-*"))) == 1


def test_train_command_refuses_bf16_on_a_cpu_without_it_with_a_usage_error(tmp_path, monkeypatch, capsys):
    from app.train import main

    monkeypatch.setattr("app.engine.training.fast_matmul_dtype", lambda: torch.float32)
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("abcabcabd " * 400)
    with pytest.raises(SystemExit) as stopped:
        main(["--name", "b", "--corpus", str(corpus), "--out-dir", str(tmp_path / "m"),
              "--resume-dir", str(tmp_path / "ck"), "--hidden", "8", "--max-steps", "5", "--precision", "bf16"])
    assert stopped.value.code == 2
    assert "--precision fp32" in capsys.readouterr().err
    assert not (tmp_path / "m" / "b").exists()
