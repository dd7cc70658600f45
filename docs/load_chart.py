"""The load figure for the README: requests/s and p99 latency with 1, 20 and 50 clients, before and with batching.

    python docs/load_chart.py [--data docs/load] [--out docs/load.png]

Reads the files `bench/load.py --json` wrote (docs/load/: before-activations.json from the code before
the batcher, commit 74baef1^; before-interventions.json from the code before interventions joined it,
9865efe; batched-*.json from this code, every run on this project's 2-core machine), draws them with
plotly (the installed package's own plotly.js, no CDN) and saves a shot from Debian's Chromium.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import plotly.graph_objects as go
from playwright.sync_api import sync_playwright
from plotly.subplots import make_subplots

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from docs.screenshot import launch  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ENDPOINTS = {"activations": "POST /api/activations", "interventions": "POST /api/interventions"}
RUNS = {"before": ("before batching", "#9aa5b1"), "batched": ("batched", "#c0392b")}


def figure(data: Path) -> go.Figure:
    fig = make_subplots(rows=2, cols=2, vertical_spacing=0.14, horizontal_spacing=0.1,
                        subplot_titles=[f"{title}: requests/s" for title in ENDPOINTS.values()]
                        + [f"{title}: p99 latency (s)" for title in ENDPOINTS.values()])
    for col, endpoint in enumerate(ENDPOINTS, start=1):
        for run, (label, colour) in RUNS.items():
            phases = json.loads((data / f"{run}-{endpoint}.json").read_text())["phases"]
            clients = [f"{p['clients']} client{'s' if p['clients'] > 1 else ''}" for p in phases]
            for row, key, fmt in ((1, "requests_per_s", "{:.1f}"), (2, "p99_s", "{:.1f} s")):
                values = [p[key] for p in phases]
                fig.add_trace(go.Bar(x=clients, y=values, name=label, marker_color=colour, showlegend=row == col == 1,
                                     text=[fmt.format(v) for v in values], textposition="outside"), row=row, col=col)
    fig.update_yaxes(rangemode="tozero")
    fig.update_layout(width=1100, height=720, barmode="group", template="plotly_white", margin=dict(t=60, b=40),
                      legend=dict(orientation="h", x=0.5, xanchor="center", y=1.08),
                      font=dict(size=13), uniformtext=dict(minsize=10, mode="show"))
    return fig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT / "docs" / "load")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "load.png")
    args = parser.parse_args()
    html = figure(args.data).to_html(include_plotlyjs=True, full_html=True)  # plotly.js inline: offline
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1120, "height": 740})
        page.set_content(html)
        page.wait_for_selector(".plotly .main-svg")
        page.locator(".plotly-graph-div").screenshot(path=str(args.out))
        browser.close()
    print(args.out)


if __name__ == "__main__":
    main()
