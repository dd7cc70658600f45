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
        text = "".join(f"{letter * 9}{i % 10}\n" for i in range(100))  # 100 lines of 11 characters
        path = tmp_path / name
        path.write_text(text)
        files.append({"path": str(path), "chars": len(text), "sha256": hashlib.sha256(text.encode()).hexdigest()})
    return {"corpus": {"files": files}, "split": {"test_fraction": 0.1}}


def test_sample_takes_an_equal_share_of_every_files_test_tail_from_a_line_start(tmp_path):
    sample = held_out_sample(_corpus(tmp_path), tmp_path, sample_chars=60)
    lines = sample.splitlines(keepends=True)
    assert all(len(line) == 11 for line in lines)  # whole lines only
    assert {line[0] for line in lines} == {"a", "b"}
    tail_digits = {str(i % 10) for i in range(90, 100)}
    assert all(line[9] in tail_digits for line in lines)  # from the last 10% of each file


def test_sample_refuses_a_corpus_file_that_changed(tmp_path):
    config = _corpus(tmp_path)
    (tmp_path / "a.txt").write_text("changed\n" * 100)
    with pytest.raises(SystemExit, match="sha256"):
        held_out_sample(config, tmp_path, sample_chars=60)


def test_build_writes_the_analysis_and_the_report_reads_it(tmp_path, capsys):
    vocab = Vocabulary.from_text(TINY_TEXT)
    directory = tmp_path / "models" / "tiny-lstm"
    save_model_dir(directory, make_model("lstm", vocab.size), vocab)
    (directory / "sample.txt").write_text((TINY_TEXT * 10)[:1200])
    summary = build(directory, corpus_root=tmp_path, sample_chars=0, resample=False, top=3, k=4)
    stored = json.loads((directory / "cells.json").read_text())
    assert stored == json.loads(json.dumps(summary)) and (directory / "units.safetensors").is_file()
    assert "inside_double_quotes" in {c["hypothesis"] for c in stored["cells"]}
    report_main([str(tmp_path / "models")])
    assert "| inside_double_quotes | AUROC |" in capsys.readouterr().out
