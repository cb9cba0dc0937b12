"""Text for language modelling: byte windows and their next-byte targets, consecutive splits, the checks that
the model fits (input of token ids, output of byte scores per position), and the example trained as a user would."""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from dslc.compiler.analysis.analyse import analyse
from dslc.runtime.cli import main
from dslc.runtime.data import load_dataset
from dslc.spec.load import load

ROOT = Path(__file__).resolve().parents[2]

SPEC = """dslc 1

model lm(tokens: int32[4]) {
  embedding(256, 8)
  dense(256)
}

train {
  loss = softmax_cross_entropy
  optimizer = adam(0.01)
  batch = 2
  epochs = 1
  data = text("corpus.txt", stride=2, validation=0.2, test=0.2)
}
"""


def write(tmp_path: Path, text: bytes, spec: str = SPEC) -> Path:
    (tmp_path / "corpus.txt").write_bytes(text)
    path = tmp_path / "lm.dsl"
    path.write_text(spec)
    return path


def test_windows_are_next_byte_pairs_in_consecutive_splits(tmp_path: Path) -> None:
    text = bytes(range(65, 65 + 41))  # 41 distinct bytes: windows at 0, 2, .., 36
    loaded = load(write(tmp_path, text))
    data = load_dataset(loaded, analyse(loaded), seed=0)
    seen: list[set[int]] = []
    for split in (data.train, data.validation, data.test):
        inputs, target = data.gather(split_name(data, split), np.arange(len(split)))
        assert inputs[0].dtype == np.int32 and inputs[0].shape == (len(split), 4)
        assert np.array_equal(target, inputs[0] + 1)  # every next byte is one more here
        seen.append({int(b) for b in np.concatenate([inputs[0].ravel(), target.ravel()])})
    # 19 windows cut 11, 4, 4; the last two train and validation windows would reach into the next stretch
    assert [len(data.train), len(data.validation), len(data.test)] == [9, 2, 4]
    assert not (seen[0] & seen[1] or seen[1] & seen[2] or seen[0] & seen[2])  # no byte read by two splits
    assert max(seen[0]) < min(seen[1]) and max(seen[1]) < min(seen[2])  # train, validation, test in file order


def test_a_folder_is_one_corpus_of_its_text_files_in_path_order(tmp_path: Path) -> None:
    """Windows never span two files; a file too short for a window and hidden or non-.txt files add nothing."""
    folder = tmp_path / "corpus"
    (folder / "b").mkdir(parents=True)
    (folder / "a.txt").write_bytes(bytes(range(65, 65 + 13)))  # windows at 0, 2, .., 8
    (folder / "b" / "c.txt").write_bytes(bytes(range(97, 97 + 13)))
    (folder / "b" / "short.txt").write_bytes(b"abcd")  # 4 bytes: no window of 4 and its next byte
    (folder / "notes.md").write_bytes(b"x" * 50)
    (folder / ".hidden.txt").write_bytes(b"y" * 50)
    path = write(tmp_path, b"", SPEC.replace('"corpus.txt"', '"corpus"').replace("=0.2", "=0"))
    loaded = load(path)
    data = load_dataset(loaded, analyse(loaded), seed=0)
    (windows,), target = data.gather("train", np.arange(len(data.train)))
    assert [bytes(w.astype(np.uint8)) for w in windows] == [
        b"ABCD", b"CDEF", b"EFGH", b"GHIJ", b"IJKL", b"abcd", b"cdef", b"efgh", b"ghij", b"ijkl"]
    assert np.array_equal(target, windows + 1)  # the target ends in the window's own file


def test_a_corpus_crosses_to_a_worker_process_as_its_paths(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name in ("a.txt", "b.txt"):
        (folder / name).write_bytes(np.random.default_rng(len(name)).integers(0, 256, 20_000, np.uint8).tobytes())
    path = write(tmp_path, b"", SPEC.replace('"corpus.txt"', '"corpus"'))
    loaded = load(path)
    split = load_dataset(loaded, analyse(loaded), seed=0).train.inputs[0]
    pickled = pickle.dumps(split)
    assert len(pickled) < split.starts.nbytes + 5_000  # window starts and paths, not the 40 kB of text
    index = np.array([[0, 4000], [len(split) - 1, 7]])
    assert np.array_equal(pickle.loads(pickled)[index], split[index])


@pytest.mark.parametrize(("files", "message"), [
    ({"notes.md": b"x" * 50}, "error[E701]: text folder 'corpus' holds no .txt file"),
    ({"a.txt": b"abc", "b.txt": b"ab"}, "error[E704]: the longest text file in 'corpus' has 3 bytes: a window of 4 "
                                        "tokens and its next-token target need 5"),
])
def test_a_folder_without_a_window_of_text_is_located(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       files: dict[str, bytes], message: str) -> None:
    (tmp_path / "corpus").mkdir()
    for name, text in files.items():
        (tmp_path / "corpus" / name).write_bytes(text)
    path = write(tmp_path, b"", SPEC.replace('"corpus.txt"', '"corpus"'))
    assert main(["train", str(path), "--workdir", str(tmp_path / "run"), "--quiet"]) == 2
    assert f"lm.dsl:13:15: {message}" in capsys.readouterr().err


def test_a_text_file_that_leads_out_of_the_folder_is_refused(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"x" * 100)
    (tmp_path / "spec" / "corpus").mkdir(parents=True)
    (tmp_path / "spec" / "corpus" / "in.txt").symlink_to(outside)
    path = write(tmp_path / "spec", b"", SPEC.replace('"corpus.txt"', '"corpus"'))
    assert main(["train", str(path), "--workdir", str(tmp_path / "run"), "--quiet"]) == 2
    assert "error[E702]: text file 'corpus/in.txt' resolves to" in capsys.readouterr().err


def split_name(data: object, split: object) -> str:
    return next(name for name in ("train", "validation", "test") if getattr(data, name) is split)


@pytest.mark.parametrize(("edit", "message"), [
    (("tokens: int32[4]) {\n  embedding(256, 8)", "tokens: [4]) {\n  dense(8)"),
     "data 'text' gives one input of token ids [length] (an integer dtype), but the model takes (4,) float32"),
    (("dense(256)", "dense(100)"), "data 'text' gives one of 256 byte tokens per position, but the model's output "
                                   "is (4, 100), not (4, 256 or more)"),
    (("softmax_cross_entropy", "mse"), "data 'text' gives next-token class ids, but loss 'mse' needs real-valued "
                                       "targets"),
    (("stride=2,", "stride=2, normalize=standard,"), "data 'text' gives token ids: normalize does not apply"),
])
def test_check_says_what_the_model_must_be(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           edit: tuple[str, str], message: str) -> None:
    path = write(tmp_path, b"x" * 100, SPEC.replace(*edit))
    assert main(["check", str(path)]) == 2
    assert f"error[E611]: {message}" in capsys.readouterr().out


def test_a_file_shorter_than_a_window_is_located(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, b"abc")
    assert main(["train", str(path), "--workdir", str(tmp_path / "run"), "--quiet"]) == 2
    assert ("lm.dsl:13:15: error[E704]: text file 'corpus.txt' has 3 bytes: a window of 4 tokens and its "
            "next-token target need 5") in capsys.readouterr().err


@pytest.mark.optimized  # three epochs of a transformer: optimised steps pay for their compilation
def test_the_example_predicts_better_than_byte_frequencies(tmp_path: Path,
                                                           example_data: Callable[[str], Path]) -> None:
    corpus = example_data("descriptions").read_bytes()
    spec = tmp_path / "text_bytes.yaml"
    spec.write_text((ROOT / "examples" / "text_bytes.yaml").read_text())
    assert main(["train", str(spec), "--epochs", "3", "--workdir", str(tmp_path / "run"), "--quiet"]) == 0
    validation = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
                  if json.loads(line)["split"] == "validation"]
    data = np.frombuffer(corpus, np.uint8)
    frequencies = np.bincount(data, minlength=256) / len(data)
    unigram = -np.mean(np.log(frequencies[data]))  # nats per byte knowing byte frequencies alone (of all the text)
    assert validation[-1]["loss"] < unigram - 0.2


def test_a_folder_holds_out_whole_documents_and_no_window_mixes_two(tmp_path: Path) -> None:
    """Ten documents of one letter each: every window (and its target) is one letter, and each letter's windows
    all lie in one split; validation and test take whole documents, their share of the bytes."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    for number in range(10):
        (folder / f"{number}.txt").write_bytes(bytes([65 + number]) * 40)
    loaded = load(write(tmp_path, b"", SPEC.replace('"corpus.txt"', '"corpus"')))
    data = load_dataset(loaded, analyse(loaded), seed=0)
    letters = []
    for name in ("train", "validation", "test"):
        (windows,), target = data.gather(name, np.arange(len(data.split(name))))
        rows = np.concatenate([windows, target[:, -1:]], axis=1)
        assert all(len(set(row.tolist())) == 1 for row in rows)  # one document per window and target
        letters.append({int(row[0]) for row in rows})
    assert not (letters[0] & letters[1] or letters[1] & letters[2] or letters[0] & letters[2])
    assert [len(group) for group in letters] == [6, 2, 2] and set.union(*letters) == set(range(65, 75))
