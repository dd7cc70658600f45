"""Unit importance on austen-lstm through the API: target '"', layers.1.c, 10 confirmed (one run, in process).

    python bench/importance.py
"""
import json, time, torch
torch.set_num_threads(1)
from fastapi.testclient import TestClient
from app.main import create_app
from app.settings import Settings
with TestClient(create_app(Settings())) as client:
    started = time.perf_counter()
    r = client.post("/api/models/austen-lstm/importance", json={"target": {"regex": '"'}, "layer": 1, "state": "c", "confirm": 10})
    body = r.json()
    print(r.status_code, f"{time.perf_counter() - started:.1f} s", {k: body[k] for k in ("name", "chars", "target_chars", "spearman", "timing_s")})
    print("top 5 by estimate:", [(u["unit"], u["estimate"]) for u in body["units"][:5]])
    print("confirmed:", [(c["unit"], c["estimate"], c["effect"], c["target_change"], c["other_change"]) for c in body["confirmed"]])
