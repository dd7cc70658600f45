"""Where a 2,000-character answer's time goes: the model's batched work for it against its encoding.

    python bench/encoding.py [--model models/austen-lstm] [--chars 2000] [--topk 5] [--threads 1]

Prints, best of --repeats runs each, for POST /api/activations' answer (one unit, top-k, bits):
  - the model: the text alone (one stream, capture()) and its share of a full batched pass
    (batch_streams rows of the batcher's shape);
  - the answer as the service makes it (app/services/activations.py: rounding, softmax, bits,
    top k written as JSON by app/services/predictions.py, orjson), against the top k as Python
    dicts with orjson (the previous service) and against FastAPI's default path (the dicts, then
    pydantic validation of ActivationsResponse and json.dumps), each also as a share of the
    model's batched work; the three answers are checked to be the same JSON.
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
from app.services.predictions import probabilities, top_dicts, top_json  # noqa: E402
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
    values, logits = result.states[name][0].numpy(), result.logits[0].numpy()  # (L, 1), (L, V)
    head = {"model": "m", "layer": last, "state": name.split(".")[-1], "name": name, "units": [0],
            "chars": list(text)}

    def service():
        whole = _chunk(encoded.ids, 0, values, logits, args.topk, True)
        answer = {**head, "values": whole.values, "unknown": encoded.unknown,
                  "predictions": top_json(loaded.vocab).lists(*whole.top), "bits": whole.bits}
        return orjson.dumps(answer, option=orjson.OPT_SERIALIZE_NUMPY)

    def as_dicts():
        whole = _chunk(encoded.ids, 0, values, logits, 0, True)  # values and bits; the top k as dicts below
        return {**head, "values": whole.values, "unknown": encoded.unknown,
                "predictions": top_dicts(probabilities(logits), loaded.vocab, args.topk), "bits": whole.bits}

    def dicts_orjson():
        return orjson.dumps(as_dicts(), option=orjson.OPT_SERIALIZE_NUMPY)

    def fastapi_default():  # what FastAPI does with a returned dict: validate against response_model, json.dumps
        answer = as_dicts()
        answer = {**answer, "values": answer["values"].tolist(),
                  "bits": [None if np.isnan(b) else b for b in answer["bits"].tolist()]}
        validated = ActivationsResponse.model_validate(answer).model_dump(mode="json", exclude_none=True)
        return json.dumps(validated, ensure_ascii=False).encode()

    answers = [orjson.loads(f()) for f in (service, dicts_orjson, fastapi_default)]
    assert answers[0] == answers[1] == answers[2], "the three paths wrote different answers"
    now, dicts, default = (best_time(f, args.repeats) for f in (service, dicts_orjson, fastapi_default))
    size = len(service())
    print(f"{args.model.name}, {len(text):,} chars, 1 unit of {name}, top-{args.topk}, bits; {args.threads} thread(s); "
          f"answer {size / 1000:,.0f} kB")
    print(f"model, the text alone (capture):              {1000 * alone:8.1f} ms")
    print(f"model, its share of {rows}x{steps} batched passes:    {1000 * share:8.1f} ms")
    print(f"answer, FastAPI default (dicts, pydantic, json): {1000 * default:6.1f} ms  = {default / share:5.2f}x the "
          f"batched share")
    print(f"answer, top k as dicts + orjson:               {1000 * dicts:7.1f} ms  = {dicts / share:5.2f}x")
    print(f"answer, the service (top k by NumPy, orjson):  {1000 * now:7.1f} ms  = {now / share:5.2f}x")
    print(f"the service vs FastAPI default: {default / now:.1f}x faster; vs dicts + orjson: {dicts / now:.1f}x")


if __name__ == "__main__":
    main()
