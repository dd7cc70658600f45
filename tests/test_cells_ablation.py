"""Each stored cell's ablation effect on its own characters (app/cells/ablation.py)."""
import json
import shutil

import torch
from fastapi.testclient import TestClient

from app.cells.ablation import measure, target_predictions
from app.cells.report import main as report_main
from app.cells.store import load_store
from app.engine.checkpoint import load_model_dir
from app.engine.importance import exact
from app.engine.names import StateName
from app.main import create_app
from app.settings import Settings

TEXT = 'a "bc" d /* e */ {f{g}h}\nij'


def _ended_at(hypothesis):
    """The characters whose predictions are targets."""
    return [TEXT[i + 1] + str(i + 1) for i in target_predictions(hypothesis, TEXT).nonzero()[0]]


def test_a_quote_ends_at_its_closing_quote_and_a_comment_at_the_slash_of_its_close():
    assert _ended_at("inside_double_quotes") == ['"5']  # its runs include both quote marks
    assert _ended_at("inside_c_comment") == ["/15"]


def test_numeric_targets_are_where_the_value_falls_after():
    assert _ended_at("brace_depth") == ["}21", "}23"]
    assert _ended_at("position_in_line") == ["\n24"]


def _measured(analysed_models_dir, tmp_path):
    directory = tmp_path / "models" / "tiny-lstm"
    shutil.copytree(analysed_models_dir / "tiny-lstm", directory)
    before = json.loads((directory / "cells.json").read_text())
    return directory, before, measure(directory, chars=600, random_units=3)


def test_measure_adds_a_figure_to_each_cell_and_changes_nothing_else(analysed_models_dir, tmp_path):
    directory, before, _ = _measured(analysed_models_dir, tmp_path)
    stored = json.loads((directory / "cells.json").read_text())
    assert stored["ablation"]["chars"] == 600 and stored["ablation"]["random_units"] == 3
    assert all(set(c["ablation"]) == {"bits", "random_median", "targets"} for c in stored["cells"] if "ablation" in c)
    assert any("ablation" in c for c in stored["cells"])
    stripped = [{k: v for k, v in c.items() if k != "ablation"} for c in stored["cells"]]
    assert stripped == before["cells"] and {k: v for k, v in stored.items() if k not in ("cells", "ablation")} == {
        k: v for k, v in before.items() if k != "cells"}


def test_a_cells_figure_is_its_exact_ablation_at_the_hypothesis_targets(analysed_models_dir, tmp_path):
    directory, _, summary = _measured(analysed_models_dir, tmp_path)
    cell = next(c for c in summary["cells"] if "ablation" in c)
    loaded, store = load_model_dir(directory), load_store(directory)
    text = store.sample[:600]
    target = torch.from_numpy(target_predictions(cell["hypothesis"], text))
    ids = torch.from_numpy(loaded.vocab.encode(text).ids)
    (_, at_target, _), = exact(loaded.model, ids, StateName(cell["layer"], cell["state"]), [cell["unit"]],
                               store.means, target)
    assert abs(cell["ablation"]["bits"] - at_target) < 1e-3 and cell["ablation"]["targets"] == int(target.sum())


def test_the_report_and_the_api_show_the_figures(analysed_models_dir, tmp_path, capsys):
    directory, _, summary = _measured(analysed_models_dir, tmp_path)
    report_main([str(directory.parent)])
    assert "| model | hypothesis | cell | ablation (bits) |" in capsys.readouterr().out
    with TestClient(create_app(Settings(models_dir=directory.parent))) as client:
        cells = client.get("/api/models/tiny-lstm/cells").json()
    assert [c.get("ablation") for c in cells] == [c.get("ablation") for c in summary["cells"]]
