"""`--device`: present platforms are selected, absent ones are a clear E601 that lists what is present."""

from __future__ import annotations

import jax
import pytest

from dslc.compiler import devices
from dslc.compiler.devices import describe, present_devices, select_device, select_devices
from dslc.spec.errors import DslcError, Span


def test_cpu_is_always_present() -> None:
    assert select_device("cpu").platform == "cpu"
    assert select_devices("cpu") == jax.devices("cpu")
    assert "cpu" in present_devices()


def test_auto_prefers_accelerators() -> None:
    present = present_devices()
    expected = next(platform for platform in ("gpu", "tpu", "cpu") if platform in present)
    assert select_device("auto").platform == expected


@pytest.mark.skipif(bool(present_devices().get("gpu")), reason="this machine has a GPU")
def test_absent_gpu_lists_what_is_present() -> None:
    span = Span("<flag>", 1, 10)
    with pytest.raises(DslcError) as caught:
        select_device("gpu", span)
    error = caught.value
    assert error.code == "E601" and error.span == span and error.stage == "device"
    assert error.message.startswith("no gpu device is present; present here: cpu (1 device")
    assert "--device cpu" in (error.hint or "")
    assert error.headline().startswith("<flag>:1:10: error[E601]: no gpu device is present")


def test_unknown_device_name() -> None:
    with pytest.raises(DslcError) as caught:
        select_device("cuda")
    assert caught.value.code == "E601" and "gpu, tpu, cpu, auto" in (caught.value.hint or "")


class FakeDevice:
    def __init__(self, platform: str, kind: str) -> None:
        self.platform, self.device_kind = platform, kind


def test_a_broken_backend_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    """An installed platform that fails to start: JAX's own reason is in the hint, other platforms are listed."""
    fake = {"cpu": [FakeDevice("cpu", "cpu")], "tpu": [FakeDevice("tpu", "TPU v5 lite")] * 4}

    def fake_devices(platform: str) -> list:
        if platform == "gpu":
            raise RuntimeError("Backend 'cuda' failed to initialize: no CUDA-capable device is detected")
        return fake[platform]

    monkeypatch.setattr(devices.jax, "devices", fake_devices)
    with pytest.raises(DslcError) as caught:
        select_device("gpu")
    assert "present here: tpu (4 devices: TPU v5 lite ×4); cpu (1 device: cpu)" in caught.value.message
    assert caught.value.hint == ("use --device tpu; JAX says: Backend 'cuda' failed to initialize: "
                                 "no CUDA-capable device is detected")
    assert select_device("auto").platform == "tpu"  # gpu is absent: the next preference
    assert len(select_devices("tpu")) == 4


def test_describe_nothing() -> None:
    assert describe({}) == "none"
