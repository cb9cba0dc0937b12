"""`--device cpu|gpu|tpu|auto`: the JAX device to run on, or a clear error listing what is present.

JAX raises a `RuntimeError` for a platform it has no backend for (no CUDA plugin, no libtpu);
a missing device must instead be a located, coded dslc error (docs/architecture.md#compiler), and it should say
what *is* there so that the user can pick it.
"""

from __future__ import annotations

import jax

from dslc.spec.errors import DslcError, Span, printable

PLATFORMS = ("gpu", "tpu", "cpu")  # `auto` prefers them in this order
DEVICE_NAMES = (*PLATFORMS, "auto")
_INSTALL_HINTS = {"gpu": "a GPU needs a CUDA build of JAX (pip install 'jax[cuda12]') and an NVIDIA driver",
                  "tpu": "a TPU needs a TPU host and JAX with libtpu (pip install 'jax[tpu]')"}


def present_devices() -> dict[str, list[jax.Device]]:
    """The devices of every platform JAX can start here, by platform (absent platforms left out)."""
    return {platform: devices for platform in PLATFORMS if (devices := _devices(platform)[0])}


def _devices(platform: str) -> tuple[list[jax.Device], str | None]:
    """The platform's devices, or none and JAX's reason (no backend for it, or it failed to start)."""
    try:
        return jax.devices(platform), None
    except RuntimeError as error:
        return [], str(error)


def describe(present: dict[str, list[jax.Device]]) -> str:
    """E.g. `cpu (1 device: TFRT_CPU_0)` or `gpu (2 devices: NVIDIA H100 ×2)`."""
    if not present:
        return "none"
    parts = []
    for platform, devices in present.items():
        kinds: dict[str, int] = {}
        for device in devices:
            kinds[device.device_kind] = kinds.get(device.device_kind, 0) + 1
        shown = ", ".join(kind if count == 1 else f"{kind} ×{count}" for kind, count in kinds.items())
        parts.append(f"{platform} ({len(devices)} device{'s' if len(devices) != 1 else ''}: {shown})")
    return "; ".join(parts)


def select_devices(name: str, span: Span | None = None) -> list[jax.Device]:
    """Every device of the platform `name` names (`auto`: the first present of gpu, tpu, cpu).

    Raises `DslcError` E601 when that platform is not present or `name` is no device name;
    `span` locates the request (a flag or a spec value) when there is one.
    """
    if name not in DEVICE_NAMES:
        raise DslcError("E601", f"unknown device '{name}'", span, hint=f"choose one of: {', '.join(DEVICE_NAMES)}",
                        stage="device")
    present = present_devices()
    if name == "auto":
        for platform in PLATFORMS:
            if platform in present:
                return present[platform]
        raise DslcError("E601", "JAX finds no device at all", span, stage="device")
    if name in present:
        return present[name]
    others = [platform for platform in PLATFORMS if platform in present]
    hint = f"use --device {others[0] if others else 'auto'}"
    _, reason = _devices(name)
    # Installed but broken (not merely absent, like a missing libtpu.so): JAX's reason is the useful part.
    if reason and "failed to initialize" in reason and "cannot open shared object" not in reason:
        hint += f"; JAX says: {printable(reason, 200)}"
    elif name in _INSTALL_HINTS:
        hint += f"; {_INSTALL_HINTS[name]}"
    raise DslcError("E601", f"no {name} device is present; present here: {describe(present)}", span, hint=hint,
                    stage="device")


def select_device(name: str, span: Span | None = None) -> jax.Device:
    """The first device of `select_devices(name)`: where a single-device run puts its state and data."""
    return select_devices(name, span)[0]
