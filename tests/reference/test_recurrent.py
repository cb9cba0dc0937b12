"""The recurrent layers against PyTorch's (`pytest -m reference`): a gru with `convention: reset_after`
is `torch.nn.GRU` and an lstm is `torch.nn.LSTM` (whose two biases per gate sum into Flax's one),
with the reference's random weights copied in by name, in float32.

Both directions, every time step (`return_sequences`) and the last state are compared.
"""

from __future__ import annotations

import numpy as np
import pytest

from dslc.compiler.analysis.analyse import analyse
from dslc.compiler.build import SpecModel, build_model
from dslc.compiler.weights import assign_weights, parameter_names
from dslc.spec.load import load_text

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.reference

TIME, FEATURES, UNITS, BATCH = 7, 5, 6, 3
TOLERANCE = {"rtol": 1e-4, "atol": 1e-5}
LSTM_GATES = ("i", "f", "g", "o")  # PyTorch's row blocks; Flax's modules ii/hi, if_/hf, ig/hg, io/ho


def dslc_model(kind: str, options: str) -> SpecModel:
    loaded = load_text(f"dslc: 1\nmodel:\n  name: m\n  inputs: {{x: [{TIME}, {FEATURES}]}}\n  layers:\n"
                       f"    - {kind}: {{units: {UNITS}, {options}}}\n      name: rec\n", "yaml")
    return build_model(loaded, analyse(loaded))


def numpy_of(module: torch.nn.Module) -> dict[str, np.ndarray]:
    return {name: value.detach().numpy() for name, value in module.state_dict().items()}


def _directions(bidirectional: bool) -> list[tuple[str, str]]:
    """(dslc's path to a direction's cell, PyTorch's suffix)."""
    if bidirectional:
        return [("layers.rec.rnn.forward_rnn.cell", ""), ("layers.rec.rnn.backward_rnn.cell", "_reverse")]
    return [("layers.rec.rnn.cell", "")]


def gru_names(torch_weights: dict[str, np.ndarray], bidirectional: bool) -> dict[str, np.ndarray]:
    """PyTorch's (3H, in) row blocks r, z, n are Flax's column blocks r, z, n of a (in, 3H) kernel."""
    arrays = {}
    for cell, suffix in _directions(bidirectional):
        arrays[f"{cell}.dense_i.kernel"] = torch_weights[f"weight_ih_l0{suffix}"].T
        arrays[f"{cell}.dense_i.bias"] = torch_weights[f"bias_ih_l0{suffix}"]
        arrays[f"{cell}.dense_h.kernel"] = torch_weights[f"weight_hh_l0{suffix}"].T
        arrays[f"{cell}.dense_h.bias"] = torch_weights[f"bias_hh_l0{suffix}"]
    return arrays


def lstm_names(torch_weights: dict[str, np.ndarray], bidirectional: bool) -> dict[str, np.ndarray]:
    arrays = {}
    for cell, suffix in _directions(bidirectional):
        for index, gate in enumerate(LSTM_GATES):
            rows = slice(index * UNITS, (index + 1) * UNITS)
            arrays[f"{cell}.i{gate if gate != 'f' else 'f_'}.kernel"] = torch_weights[f"weight_ih_l0{suffix}"][rows].T
            arrays[f"{cell}.h{gate}.kernel"] = torch_weights[f"weight_hh_l0{suffix}"][rows].T
            arrays[f"{cell}.h{gate}.bias"] = (torch_weights[f"bias_ih_l0{suffix}"][rows]
                                             + torch_weights[f"bias_hh_l0{suffix}"][rows])
    return arrays


CASES = [("gru", torch.nn.GRU, "convention: reset_after", gru_names),
         ("lstm", torch.nn.LSTM, "activation: tanh", lstm_names)]


@pytest.mark.parametrize("bidirectional", [False, True], ids=["forward", "bidirectional"])
@pytest.mark.parametrize(("kind", "reference_class", "options", "names"), CASES, ids=[case[0] for case in CASES])
def test_recurrent_layer_equals_pytorch(kind: str, reference_class: type, options: str, names: object,
                                        bidirectional: bool) -> None:
    torch.manual_seed(0)
    reference = reference_class(FEATURES, UNITS, batch_first=True, bidirectional=bidirectional).eval()
    x = torch.randn(BATCH, TIME, FEATURES)
    with torch.no_grad():
        sequence, last = reference(x)
    last_hidden = (last[0] if kind == "lstm" else last).permute(1, 0, 2).reshape(BATCH, -1)  # (B, directions*H)
    direction = f"bidirectional: {str(bidirectional).lower()}"
    arrays = names(numpy_of(reference), bidirectional)  # type: ignore[operator]
    for return_sequences, expected in ((True, sequence), (False, last_hidden)):
        model = dslc_model(kind, f"{options}, {direction}, return_sequences: {str(return_sequences).lower()}")
        assert set(parameter_names(model)) == set(arrays)
        assign_weights(model, arrays, "PyTorch's weights")
        ours = np.asarray(model(x.numpy()))
        difference = float(np.abs(ours - expected.numpy()).max())
        print(f"{kind} {direction} return_sequences={return_sequences}: max abs difference {difference:.2e}")
        np.testing.assert_allclose(ours, expected.numpy(), **TOLERANCE)
