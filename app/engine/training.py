"""Training loop: truncated BPTT over parallel streams, clipping, schedule, eval, resume.

The shipped model directory (weights + config.json) is rewritten each time validation
improves; a separate resume directory holds fp32 weights, the optimiser state and the
loop position, so an interrupted run (Ctrl-C, SIGTERM, end of session) continues where
its last checkpoint left off. Nothing here is pickled.
"""
from __future__ import annotations

import json
import math
import signal
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from tqdm import tqdm

from app.engine.card import render_card
from app.engine.checkpoint import atomic_write_text, load_model_dir, save_model_dir, save_tensors, to_file_tensors, from_file_tensors
from app.engine.device import DEVICES, resolve_device
from app.engine.data import batches_per_epoch, corpus_sha256, read_corpus, split_corpus, stream_batches
from app.engine.model import CharRNN, ModelConfig, State, detach_state
from app.engine.snapshots import read_index, save_snapshot, snapshot_steps
from app.engine.stepwise import fast_matmul_dtype
from app.engine.vocab import Vocabulary

LN2 = math.log(2)


@dataclass
class TrainConfig:
    name: str = "model"
    corpus: list[str] = field(default_factory=list)  # files or directories
    corpus_name: str = ""
    out_dir: str = "models"
    resume_dir: str = "checkpoints"
    # model
    arch: str = "lstm"
    n_layers: int = 2
    hidden_size: int = 512
    embedding_size: int | None = None
    dropout: float = 0.0
    # data
    val_fraction: float = 0.05
    test_fraction: float = 0.05
    batch_size: int = 64  # parallel streams
    seq_len: int = 100  # truncated BPTT length; state carries across consecutive chunks
    # optimisation
    optimizer: str = "adam"  # adam | adamw | rmsprop | sgd
    lr: float = 2e-3
    min_lr_fraction: float = 0.1
    schedule: str = "cosine"  # cosine | linear | constant, after a linear warmup
    warmup_steps: int = 200
    weight_decay: float = 0.0
    grad_clip: float = 5.0  # max global gradient norm
    max_steps: int = 10_000  # the schedule's length
    max_minutes: float | None = None  # stop (resumable) after this much wall time in this run
    eval_every: int = 250
    eval_batch_size: int = 128
    save_every: int = 100
    seed: int = 1337
    threads: int | None = None
    weights_dtype: str = "float16"  # dtype of the shipped weights
    precision: str = "fp32"  # fp32 | bf16: bf16 autocast for the training forward (evaluation is always fp32)
    device: str = "auto"  # auto | cpu | cuda: auto trains on a GPU when torch sees one
    snapshots: int = 0  # weights kept at this many log-spaced steps (0 and the last included), see engine/snapshots.py

    def __post_init__(self) -> None:
        if self.precision not in ("fp32", "bf16"):
            raise ValueError(f"precision must be fp32 or bf16, got {self.precision!r}")
        if self.weights_dtype not in ("float16", "float32"):
            raise ValueError(f"weights_dtype must be float16 or float32 (readable by numpy), got {self.weights_dtype!r}")
        if self.device not in DEVICES:
            raise ValueError(f"device must be one of {', '.join(DEVICES)}, got {self.device!r}")
        if self.snapshots < 0:
            raise ValueError(f"snapshots must be >= 0, got {self.snapshots}")

    def model_config(self, vocab_size: int) -> ModelConfig:
        return ModelConfig(vocab_size=vocab_size, arch=self.arch, n_layers=self.n_layers,
                           hidden_size=self.hidden_size, embedding_size=self.embedding_size, dropout=self.dropout)


def unsupported_precision(cfg: TrainConfig) -> str | None:
    """Why this machine cannot train with cfg.precision, or None when it can."""
    if cfg.precision == "bf16" and resolve_device(cfg.device).type == "cpu" and fast_matmul_dtype() != torch.bfloat16:
        # oneDNN has no bfloat16 LSTM without native support: training would fail on its first step
        return ("precision bf16 needs a CPU with native bfloat16 (AVX-512 BF16 or AMX) and this one has none; "
                "train with precision fp32 (--precision fp32)")
    return None


def learning_rate(cfg: TrainConfig, step: int) -> float:
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = min(1.0, (step - cfg.warmup_steps) / max(1, cfg.max_steps - cfg.warmup_steps))
    floor = cfg.lr * cfg.min_lr_fraction
    if cfg.schedule == "constant":
        return cfg.lr
    if cfg.schedule == "linear":
        return cfg.lr - (cfg.lr - floor) * progress
    return floor + (cfg.lr - floor) * 0.5 * (1 + math.cos(math.pi * progress))


def make_optimizer(cfg: TrainConfig, model: CharRNN) -> torch.optim.Optimizer:
    params = model.parameters()
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=cfg.lr, alpha=0.95, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=0.9, weight_decay=cfg.weight_decay)
    raise ValueError(f"optimizer must be adam, adamw, rmsprop or sgd, got {cfg.optimizer!r}")


@torch.no_grad()
def evaluate_bpc(model: CharRNN, ids: np.ndarray, batch_size: int = 128, seq_len: int = 200) -> float:
    """Bits per character of predicting ids[1:] from ids[:-1], state carried across chunks."""
    was_training = model.training
    model.eval()
    batch_size = max(1, min(batch_size, (len(ids) - 1) // max(1, seq_len)))
    device = next(model.parameters()).device
    state: State | None = None
    total_nats, total_chars = 0.0, 0
    for x, y in stream_batches(ids, batch_size, seq_len):
        x, y = x.to(device), y.to(device)
        logits, state = model(x, state)  # (B, T, V)
        total_nats += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="sum").item()
        total_chars += y.numel()
    model.train(was_training)
    return total_nats / total_chars / LN2


def _optimizer_tensors(opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], list]:
    sd = opt.state_dict()
    tensors = {f"optim.{idx}.{key}": torch.as_tensor(value).detach().cpu().contiguous()
               for idx, entries in sd["state"].items() for key, value in entries.items()}
    return tensors, sd["param_groups"]


def _load_optimizer(opt: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], groups: list) -> None:
    state: dict[int, dict] = {}
    for name, value in tensors.items():
        if name.startswith("optim."):
            _, idx, key = name.split(".", 2)
            state.setdefault(int(idx), {})[key] = value
    opt.load_state_dict({"state": state, "param_groups": groups})


class Trainer:
    def __init__(self, cfg: TrainConfig):
        self.cfg = cfg
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        files = read_corpus([Path(p) for p in cfg.corpus])
        self.files = files
        self.splits = split_corpus(files, cfg.val_fraction, cfg.test_fraction)
        # The vocabulary covers the whole corpus so no held-out character is scored as unknown.
        self.vocab = Vocabulary.from_text(*(f.text for f in files))
        self.train_ids = self.vocab.encode(self.splits.train).ids
        self.val_ids = self.vocab.encode(self.splits.val).ids
        self.test_ids = self.vocab.encode(self.splits.test).ids
        torch.manual_seed(cfg.seed)
        self.device = resolve_device(cfg.device)
        self.model = CharRNN(cfg.model_config(self.vocab.size)).to(self.device)
        self.opt = make_optimizer(cfg, self.model)
        self.step = 0
        self.best_val = math.inf
        self.elapsed = 0.0  # training seconds over all runs
        self.history: list[dict] = []
        self.stop_requested = False
        self.out_dir = Path(cfg.out_dir) / cfg.name
        self.resume_dir = Path(cfg.resume_dir) / cfg.name
        self.command: str | None = None  # the command line that trains this model, for its card
        self.snapshot_steps = set(snapshot_steps(cfg.snapshots, cfg.max_steps))

    # --- checkpoints -------------------------------------------------------------
    def save_resume(self) -> None:
        self.resume_dir.mkdir(parents=True, exist_ok=True)
        tensors, groups = _optimizer_tensors(self.opt)
        tensors.update({f"model.{k}": v for k, v in to_file_tensors(self.model).items()})
        save_tensors(self.resume_dir / "train_state.safetensors", tensors)
        meta = {"step": self.step, "best_val_bpc": self.best_val, "elapsed_s": self.elapsed,
                "history": self.history, "param_groups": groups, "train_config": asdict(self.cfg)}
        tmp = self.resume_dir / "train_state.json.tmp"
        tmp.write_text(json.dumps(meta, indent=1))
        tmp.replace(self.resume_dir / "train_state.json")

    def try_resume(self) -> bool:
        meta_path = self.resume_dir / "train_state.json"
        if not meta_path.is_file():
            return False
        meta = json.loads(meta_path.read_text())
        tensors = load_file(str(self.resume_dir / "train_state.safetensors"))
        from_file_tensors(self.model, {k.removeprefix("model."): v for k, v in tensors.items() if k.startswith("model.")},
                          str(self.resume_dir))
        _load_optimizer(self.opt, tensors, meta["param_groups"])
        self.step, self.best_val, self.elapsed = meta["step"], meta["best_val_bpc"], meta["elapsed_s"]
        self.history = meta["history"]
        return True

    def metadata(self, results: dict) -> dict:
        cfg = self.cfg
        return {
            "corpus": {"name": cfg.corpus_name or Path(cfg.corpus[0]).name, "sha256": corpus_sha256(self.files),
                       "files": [{"path": f.path, "chars": len(f.text), "sha256": f.sha256} for f in self.files]},
            "split": {"method": "per file: head train, then a contiguous tail cut into val and test",
                      "val_fraction": cfg.val_fraction, "test_fraction": cfg.test_fraction,
                      "train_chars": len(self.train_ids), "val_chars": len(self.val_ids), "test_chars": len(self.test_ids)},
            "training": {**asdict(cfg), "device_used": self.device.type, "steps": self.step, "training_time_s": round(self.elapsed, 1),
                         "parameters": self.model.num_parameters(), "history": self.history, "command": self.command},
            "results": results,
        }

    def save_best(self, val_bpc: float) -> None:
        save_model_dir(self.out_dir, self.model, self.vocab, self.metadata({"val_bpc": round(val_bpc, 4)}),
                       dtype=getattr(torch, self.cfg.weights_dtype))

    # --- loop ----------------------------------------------------------------------
    def _request_stop(self, *_):
        self.stop_requested = True

    def run(self) -> dict:
        cfg = self.cfg
        problem = unsupported_precision(cfg)
        if problem:
            raise ValueError(problem)
        resumed = self.try_resume()
        previous = {sig: signal.signal(sig, self._request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        per_epoch = batches_per_epoch(len(self.train_ids), cfg.batch_size, cfg.seq_len)
        run_start = time.time()
        bar = tqdm(total=cfg.max_steps, initial=self.step, desc=cfg.name, dynamic_ncols=True, mininterval=5)
        self.model.train()
        try:
            self.snapshot_if_due()  # step 0: the untrained model, the timeline's origin
            while self.step < cfg.max_steps and not self.stop_requested:
                epoch, skip = divmod(self.step, per_epoch)
                offset = int(np.random.default_rng(cfg.seed + epoch).integers(len(self.train_ids))) if epoch else 0
                state: State | None = None
                for i, (x, y) in enumerate(stream_batches(self.train_ids, cfg.batch_size, cfg.seq_len, offset)):
                    if i < skip:
                        continue
                    t0 = time.time()
                    loss, state = self.train_step(x.to(self.device), y.to(self.device), state)
                    dt = time.time() - t0
                    self.elapsed += dt
                    self.step += 1
                    bar.update(1)
                    bar.set_postfix(loss=f"{loss:.3f}", bpc=f"{loss / LN2:.3f}", chars_s=f"{x.numel() / dt:,.0f}",
                                    lr=f"{learning_rate(cfg, self.step):.1e}", refresh=False)
                    if self.step % cfg.eval_every == 0 or self.step == cfg.max_steps:
                        self.evaluate(train_bpc=loss / LN2)
                    self.snapshot_if_due()
                    if self.step % cfg.save_every == 0:
                        self.save_resume()
                    out_of_time = cfg.max_minutes is not None and time.time() - run_start > cfg.max_minutes * 60
                    if self.stop_requested or out_of_time or self.step >= cfg.max_steps:
                        self.stop_requested = True
                        break
        finally:
            bar.close()
            self.save_resume()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return {"step": self.step, "best_val_bpc": self.best_val, "resumed": resumed}

    def train_step(self, x: torch.Tensor, y: torch.Tensor, state: State | None) -> tuple[float, State]:
        for group in self.opt.param_groups:
            group["lr"] = learning_rate(self.cfg, self.step)
        # bf16 autocast runs the matrix products and the fused recurrence in bfloat16 (weights stay
        # fp32): about 1.5x faster on CPUs with bf16 instructions, and the fp32 evaluation of such a
        # forward agrees with a bf16 one to about 0.001 bits/char
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.cfg.precision == "bf16"):
            logits, state = self.model(x, state)  # (B, T, V)
        loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), y.reshape(-1))
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip)
        self.opt.step()
        return loss.item(), {name: value.float() for name, value in detach_state(state).items()}

    def snapshot_if_due(self) -> None:
        """Keeps the weights of a scheduled step once (a resumed run does not write a step twice)."""
        if self.step not in self.snapshot_steps or any(s.step == self.step for s in read_index(self.out_dir)):
            return
        val_bpc = evaluate_bpc(self.model, self.val_ids, self.cfg.eval_batch_size)
        chars_seen = self.step * self.cfg.batch_size * self.cfg.seq_len
        save_snapshot(self.out_dir, self.model, self.step, chars_seen, val_bpc)
        tqdm.write(f"snapshot at step {self.step}: val {val_bpc:.4f} bpc")

    def evaluate(self, train_bpc: float) -> None:
        val_bpc = evaluate_bpc(self.model, self.val_ids, self.cfg.eval_batch_size)
        self.history.append({"step": self.step, "train_bpc": round(train_bpc, 4), "val_bpc": round(val_bpc, 4),
                             "elapsed_s": round(self.elapsed, 1)})
        tqdm.write(f"step {self.step}: train {train_bpc:.4f} bpc, val {val_bpc:.4f} bpc")
        if val_bpc < self.best_val:
            self.best_val = val_bpc
            self.save_best(val_bpc)

    def finalize(self, ngram: dict | None = None) -> dict:
        """Scores the best saved model (as shipped, after dtype rounding) on every split, writes its card.

        The training section saved with the best weights is kept (it has that run's
        hyperparameters); steps, time and history are brought up to date from the resume state.
        """
        if self.step == 0:
            self.try_resume()
        best = load_model_dir(self.out_dir)
        results = {
            "train_bpc_sample": round(evaluate_bpc(best.model, self.train_ids[-len(self.test_ids):]), 4),
            "val_bpc": round(evaluate_bpc(best.model, self.val_ids), 4),
            "test_bpc": round(evaluate_bpc(best.model, self.test_ids), 4),
        }
        if ngram:
            results["ngram"] = ngram
        config = best.config
        training = config["training"]
        training.update(steps_at_best=training["steps"], steps=self.step, training_time_s=round(self.elapsed, 1),
                        history=self.history)
        config["results"] = results
        atomic_write_text(self.out_dir / "config.json", json.dumps(config, indent=2, ensure_ascii=False) + "\n")
        atomic_write_text(self.out_dir / "README.md", render_card(config, command=training.get("command")))
        return results
