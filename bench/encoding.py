"""Where a 2,000-character answer's time goes: the model's batched work for it against its encoding.

    python bench/encoding.py [--model models/austen-lstm] [--chars 2000] [--topk 5] [--threads 1]

Prints, best of --repeats runs each, for POST /api/activations' answer (one unit, top-k, bits):
  - the model: the text alone (one stream, capture()) and its share of a full batched pass
    (batch_streams rows of the batcher's shape);
  - the answer's post-processing (rounding, softmax, top-k, surprisal) per chunk, as the service does it;
  - encoding: FastAPI's old path (pydantic validation of ActivationsResponse, then json.dumps) and the
    service's orjson, with the ratio of the two and of each against the model's batched share.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import orjson
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.engine.capture import capture  # noqa: E402
from app.engine.checkpoint import load_model_dir  # noqa: E402
from app.engine.streams import Want, pad_ids, read_rows, stack_states  # noqa: E402
from app.schemas import ActivationsResponse  # noqa: E402
from app.services.activations import _chunk  # noqa: E402
from app.settings import Settings  # noqa: E402
from bench.timing import best_time  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=Path("models/austen-lstm"))
    parser.add_argument("--chars", type=int, default=2000)
    parser.add_argument("--topk", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    loaded = load_model_dir(args.model)
    model, settings = loaded.model, Settings()
    text = ((args.model / "sample.txt").read_text(encoding="utf-8") * 2)[: args.chars]
    encoded = loaded.vocab.encode(text)
    ids = torch.from_numpy(encoded.ids)
    name, last = f"layers.{model.config.n_layers - 1}.c", model.config.n_layers - 1
    name = name if model.config.arch == "lstm" else f"layers.{last}.h"

    alone = best_time(lambda: capture(model, ids, [name], [0], with_logits=True, with_final_state=True), args.repeats)
    rows, steps = settings.batch_streams, settings.batch_chars
    batch = pad_ids([ids[:steps]] * rows, rows, steps, ids.device)
    state, wants = stack_states(model, [None] * rows), [Want(name, (0,))] * rows
    per_pass = best_time(lambda: read_rows(model, batch, state, wants), args.repeats)
    share = per_pass * (len(text) / steps) / rows  # this text's share of full batched passes

    result = capture(model, ids, [name], [0], with_logits=True, with_final_state=True)
    values, logits = result.states[name][0], result.logits[0]

    def post_process():
        return [_chunk(loaded, encoded.ids, start, values[start:start + steps], logits[start:start + steps],
                       args.topk, True) for start in range(0, len(text), steps)]

    post = best_time(post_process, args.repeats)
    chunks = post_process()
    answer = {"model": "m", "layer": last, "state": name.split(".")[-1], "name": name, "units": [0],
              "chars": list(text), "values": np.concatenate([c.values for c in chunks]), "unknown": encoded.unknown,
              "predictions": [row for c in chunks for row in c.top], "bits": np.concatenate([c.bits for c in chunks])}
    as_lists = {**answer, "values": answer["values"].tolist(),
                "bits": [None if np.isnan(b) else b for b in answer["bits"].tolist()]}

    def old_path():  # what FastAPI did with the returned dict: validate against response_model, then json.dumps
        validated = ActivationsResponse.model_validate(as_lists).model_dump(mode="json", exclude_none=True)
        return json.dumps(validated, ensure_ascii=False).encode()

    old = best_time(old_path, args.repeats)
    new = best_time(lambda: orjson.dumps(answer, option=orjson.OPT_SERIALIZE_NUMPY), args.repeats)
    size = len(orjson.dumps(answer, option=orjson.OPT_SERIALIZE_NUMPY))
    print(f"{args.model.name}, {len(text):,} chars, 1 unit of {name}, top-{args.topk}, bits; {args.threads} thread(s); "
          f"answer {size / 1000:,.0f} kB")
    print(f"model, the text alone (capture):           {1000 * alone:8.1f} ms")
    print(f"model, its share of {rows}x{steps} batched passes: {1000 * share:8.1f} ms")
    print(f"post-processing (round, softmax, top-k):   {1000 * post:8.1f} ms")
    print(f"encoding, old (pydantic + json.dumps):     {1000 * old:8.1f} ms  = {old / share:5.2f}x the batched share")
    print(f"encoding, orjson:                          {1000 * new:8.1f} ms  = {new / share:5.2f}x the batched share")
    print(f"orjson vs old: {old / new:.1f}x faster; post-processing + orjson = {(post + new) / share:.2f}x the "
          f"batched share")


if __name__ == "__main__":
    main()
