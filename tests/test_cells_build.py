import hashlib
import json

import pytest

from app.cells.build import build, held_out_sample
from app.cells.report import main as report_main
from app.engine.checkpoint import save_model_dir
from app.engine.vocab import Vocabulary
from tests.conftest import TINY_TEXT, make_model


def _corpus(tmp_path):
    files = []
    for name, letter in (("a.txt", "a"), ("b.txt", "b")):
        # 50 paragraphs of two 11-character lines, the second inside a comment that closes on the first
        text = "".join(f"{letter * 9}{i % 10}\n/* {letter * 5}{i % 10}\n*/ x;{i:06d}\n\n" for i in range(50))
        path = tmp_path / name
        path.write_text(text)
        files.append({"path": str(path), "chars": len(text), "sha256": hashlib.sha256(text.encode()).hexdigest()})
    return {"corpus": {"files": files}, "split": {"test_fraction": 0.2}}


def test_sample_takes_whole_paragraphs_of_every_files_test_tail(tmp_path):
    sample = held_out_sample(_corpus(tmp_path), tmp_path, sample_chars=200)
    paragraphs = sample.split("\n\n")[:-1]
    assert paragraphs and all(len(p.splitlines()) == 3 and p[0] in "ab" for p in paragraphs)
    assert {p[0] for p in paragraphs} == {"a", "b"}
    assert all(int(p[9]) in range(10) and int(p.split(";")[1]) >= 40 for p in paragraphs)  # the last 20%


def test_sample_pieces_never_start_inside_a_comment(tmp_path):
    from app.cells.hypotheses import inside_c_comment

    sample = held_out_sample(_corpus(tmp_path), tmp_path, sample_chars=200)
    starts = [0] + [i + 2 for i in range(len(sample) - 1) if sample[i : i + 2] == "\n\n"]
    assert not any(inside_c_comment(sample)[s] for s in starts if s < len(sample))


def test_sample_refuses_a_corpus_file_that_changed(tmp_path):
    config = _corpus(tmp_path)
    (tmp_path / "a.txt").write_text("changed\n" * 100)
    with pytest.raises(SystemExit, match="sha256"):
        held_out_sample(config, tmp_path, sample_chars=60)


def _built(tmp_path, arch: str):
    """A tiny model with a 1,200-character sample in tmp_path/models, analysed: (its directory, the summary)."""
    vocab = Vocabulary.from_text(TINY_TEXT)
    directory = tmp_path / "models" / f"tiny-{arch}"
    save_model_dir(directory, make_model(arch, vocab.size), vocab)
    (directory / "sample.txt").write_text((TINY_TEXT * 10)[:1200])
    return directory, build(directory, corpus_root=tmp_path, sample_chars=0, resample=False, top=3, k=4)


def test_build_writes_the_analysis_and_the_report_reads_it(tmp_path, capsys):
    directory, summary = _built(tmp_path, "lstm")
    stored = json.loads((directory / "cells.json").read_text())
    assert stored == json.loads(json.dumps(summary)) and (directory / "units.safetensors").is_file()
    assert "inside_double_quotes" in {c["hypothesis"] for c in stored["cells"]}
    report_main([str(tmp_path / "models")])
    assert "| inside_double_quotes | AUROC |" in capsys.readouterr().out


def test_build_stores_a_probe_per_hypothesis_and_state_and_the_report_shows_the_best(analysed_models_dir, capsys):
    summary = json.loads((analysed_models_dir / "tiny-gru" / "cells.json").read_text())
    position = [p for p in summary["probes"] if p["hypothesis"] == "position_in_line"]
    assert len(position) == 2 * 4  # two layers x (h, r, z, n)
    assert position[0]["score"] == max(p["score"] for p in position)
    report_main([str(analysed_models_dir)])
    lines = capsys.readouterr().out.splitlines()
    probes = lines[lines.index(next(line for line in lines if line.startswith("Linear probes"))):]
    header = next(line for line in probes if line.startswith("| hypothesis |")).strip("|").split("|")
    row = next(line for line in probes if line.startswith("| position_in_line |")).strip("|").split("|")
    best = position[0]
    assert row[[h.strip() for h in header].index("tiny-gru")].strip() == (
        f"{best['score']:.3f} (L{best['layer']} {best['state']}; one unit {best['best_unit_score']:.3f})")
