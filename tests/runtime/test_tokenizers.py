"""Tokenizers of text data: bpe trained by dslc (deterministic, saved in the work directory, reused on resume),
tokenizer.json files, the vocabulary-size check at `dslc check`, and training on bpe tokens end to end."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from dslc.compiler.analysis.analyse import analyse
from dslc.runtime.cli import main
from dslc.runtime.data import load_dataset
from dslc.runtime.tokenizers import END_OF_TEXT, FileTokenizer, train_bpe
from dslc.spec.load import load
from tests.cli_helpers import dslc

SPEC = """dslc 1

model lm(tokens: int32[8]) {
  embed: embedding(300, 8)
  dense(300, tied_to=embed)
}

train {
  loss = softmax_cross_entropy
  optimizer = adam(0.01)
  batch = 4
  epochs = 1
  data = text("corpus", validation=0.2, test=0.2, tokenizer=bpe(300))
}
"""
WORDS = ["def", "return", "self", "import", "class", "value", "lambda", "yield", "print", "while", "héllo", "π"]


def corpus(folder: Path, documents: int = 8) -> Path:
    """`documents` files of pseudo-code made of WORDS (the same every call)."""
    rng = np.random.default_rng(0)
    (folder / "corpus").mkdir(parents=True, exist_ok=True)
    for number in range(documents):
        words = rng.choice(WORDS, 400)
        (folder / "corpus" / f"doc{number}.txt").write_text(" ".join(words) + "\n", encoding="utf-8")
    return folder / "corpus"


def spec(folder: Path, text: str = SPEC) -> Path:
    path = folder / "lm.dsl"
    path.write_text(text)
    return path


def test_bpe_is_deterministic_and_round_trips(tmp_path: Path) -> None:
    texts = [path.read_text(encoding="utf-8") for path in sorted(corpus(tmp_path).iterdir())]
    train_bpe(iter(texts), 300, tmp_path / "a.json")
    train_bpe(iter(texts), 300, tmp_path / "b.json")
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    tokenizer = FileTokenizer(tmp_path / "a.json")
    assert tokenizer.vocab_size <= 300 and tokenizer.end_id == tokenizer.hf.token_to_id(END_OF_TEXT)
    for text in (texts[0], "unseen: ünïcødé ✓ \t\n€"):  # every byte is in the alphabet: any text encodes
        ids = tokenizer.encode(text)
        assert tokenizer.decode(ids) == text and max(ids) < tokenizer.vocab_size
    assert len(tokenizer.encode(texts[0])) < len(texts[0].encode()) / 2  # the merges learned the words


def test_tokenizer_train_saves_into_the_work_directory_from_train_documents_only(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    names = sorted(path.name for path in corpus(tmp_path).iterdir())
    first = min(names, key=lambda name: hashlib.sha256(name.encode()).hexdigest())  # the first test document
    (tmp_path / "corpus" / first).write_text("zebra quokka " * 200)
    path, workdir = spec(tmp_path), tmp_path / "run"
    assert main(["tokenizer", "train", str(path), "--workdir", str(workdir)]) == 0
    saved = (workdir / "tokenizer.json").read_bytes()
    assert capsys.readouterr().out.startswith(f"wrote {workdir / 'tokenizer.json'}: ")
    assert main(["tokenizer", "train", str(path), "--workdir", str(workdir)]) == 0
    assert capsys.readouterr().out.startswith("kept ") and (workdir / "tokenizer.json").read_bytes() == saved
    loaded = load(path)
    data = load_dataset(loaded, analyse(loaded), seed=0, workdir=workdir)
    (held,), _ = data.gather("test", np.arange(len(data.test)))
    (trained,), _ = data.gather("train", np.arange(len(data.train)))
    tokenizer = FileTokenizer(workdir / "tokenizer.json")
    assert "zebra" in tokenizer.decode(held.ravel().tolist())  # the document is the test split's...
    assert "zebra" not in json.loads(saved)["model"]["vocab"] and "Ġquokka" not in json.loads(saved)["model"]["vocab"]
    assert "zebra" not in tokenizer.decode(trained.ravel().tolist())  # ...and bpe never saw it


def test_a_file_tokenizer_loads_and_no_window_spans_two_documents(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    for number, word in enumerate(("alpha ", "beta ", "gamma ", "delta ", "omega ")):
        (folder / f"{number}.txt").write_text(word * 60)
    train_bpe(iter(["alpha beta gamma delta omega " * 20]), 280, tmp_path / "tok.json")
    path = spec(tmp_path, SPEC.replace("bpe(300)", 'file("tok.json")'))
    loaded = load(path)
    data = load_dataset(loaded, analyse(loaded), seed=0)  # no work directory: tokenised in memory
    tokenizer = FileTokenizer(tmp_path / "tok.json")
    for name in ("train", "validation", "test"):
        (windows,), target = data.gather(name, np.arange(len(data.split(name))))
        for window, shifted in zip(windows, target, strict=True):
            text = tokenizer.decode([*window.tolist(), int(shifted[-1])]).replace(END_OF_TEXT, "")
            assert len(set(text.split())) == 1  # one document's word only
            assert np.array_equal(window[1:], shifted[:-1])


@pytest.mark.parametrize(("tokenizer", "model", "message"), [
    ("bpe(300)", "embedding(300, 8)\n  dense(256)",
     "lm.dsl:13:61: error[E611]: data 'text' gives one of 300 bpe tokenizer's tokens per position, but the model's "
     "output is (8, 256), not (8, 300 or more)"),
    ('file("tok.json")', "embedding(300, 8)\n  dense(400)",
     "lm.dsl:13:61: error[E611]: data 'text' gives one of 400 file tokenizer's tokens per position, but embedding "
     "'embed' has 300 rows"),
])
def test_check_locates_a_vocabulary_the_model_cannot_hold_without_jax(tmp_path: Path, tokenizer: str, model: str,
                                                                      message: str) -> None:
    vocab = {f"t{number}": number for number in range(399)}  # and an end token: 400 tokens, read from the JSON
    (tmp_path / "tok.json").write_text(json.dumps({"model": {"type": "BPE", "vocab": vocab},
                                                   "added_tokens": [{"id": 399, "content": END_OF_TEXT}]}))
    path = spec(tmp_path, SPEC.replace("bpe(300)", tokenizer).replace("embedding(300, 8)\n  dense(300, tied_to=embed)",
                                                                      model))
    code = ("import sys; from dslc.runtime.cli import main; code = main(['check', sys.argv[1]]); "
            "assert not {'jax', 'tokenizers'} & set(sys.modules); sys.exit(code)")
    result = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 2, result.stderr
    assert message in result.stdout


def made_files(workdir: Path) -> dict[str, int]:
    """The tokenizer and token cache files of a work directory, with their modification times."""
    files = [workdir / "tokenizer.json", *(workdir / "tokens").iterdir()]
    return {entry.name: entry.stat().st_mtime_ns for entry in files}


def test_a_run_killed_at_a_random_moment_resumes_bit_for_bit_with_its_tokenizer_and_tokens(tmp_path: Path) -> None:
    """SIGKILL once a checkpoint is committed, then --resume: the same parameters as an uninterrupted run, with the
    tokenizer.json and token cache that the first run made reused unchanged (a bpe trained again would differ)."""
    corpus(tmp_path, documents=6)
    path = spec(tmp_path, SPEC.replace("epochs = 1", "epochs = 3\n  checkpoint = {every = 10}"))
    run = ["train", str(path), "--quiet", "--workdir"]
    whole = dslc(*run, str(tmp_path / "whole"))  # in this process; the run to kill is a process of its own
    assert whole.returncode == 0, whole.stderr
    killed = tmp_path / "killed"
    process = subprocess.Popen([sys.executable, "-m", "dslc", *run, str(killed)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    while not list((killed / "checkpoints").glob("*/commit_success.txt")) and process.poll() is None:
        time.sleep(0.01)
    process.kill()
    process.communicate()
    assert process.returncode == -9, "the run ended before it could be killed"
    made = made_files(killed)
    assert len(made) == 3  # tokenizer.json, the tokens and their document offsets
    resumed = dslc(*run, str(killed), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert made_files(killed) == made
    assert (killed / "tokenizer.json").read_bytes() == (tmp_path / "whole" / "tokenizer.json").read_bytes()
    summaries = [json.loads((folder / "run.json").read_text()) for folder in (tmp_path / "whole", killed)]
    assert summaries[0]["parameters_sha256"] == summaries[1]["parameters_sha256"]
    assert summaries[0]["steps"] == summaries[1]["steps"] > 10
