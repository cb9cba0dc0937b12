"""The layer registry: every module in this package defines `KIND` (or `KINDS`).

Adding a layer kind means adding one module here (and its tests); the registry
finds it. Nothing from a spec ever reaches the import machinery: the modules
are listed from this package's own folder.
"""

from __future__ import annotations

import importlib
import pkgutil

from dslc.spec.layers.base import LayerKind


def _discover() -> dict[str, LayerKind]:
    kinds: dict[str, LayerKind] = {}
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if module_info.name.startswith("_") or module_info.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        for kind in getattr(module, "KINDS", ()) or (module.KIND,):
            if kind.name in kinds:
                raise RuntimeError(f"layer kind '{kind.name}' is registered twice")
            kinds[kind.name] = kind
    return kinds


REGISTRY: dict[str, LayerKind] = _discover()

__all__ = ["REGISTRY", "LayerKind"]
