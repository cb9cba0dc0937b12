"""Peak dense FLOP/s of known accelerators, for model FLOPs utilisation (MFU); unknown devices have none.

A device is looked up by JAX's `device_kind` (e.g. "NVIDIA H100 80GB HBM3", "TPU v5 lite"); the first
table entry whose name starts the kind wins, so the longer names come first. Each figure is the vendor's dense
(no structured sparsity) peak per chip for the precision a run computes in:

- bfloat16: the bf16 tensor-core / MXU peak;
- float32: what XLA uses for a float32 matrix product at default precision: TF32 tensor cores on NVIDIA Ampere
  and later, one bfloat16 pass on the MXU of a TPU; so float32 MFU is against those peaks.

CPUs and devices not listed get None: MFU is then "unknown", never a guess.
"""

from __future__ import annotations

TERA = 1e12

# (device_kind prefix, {precision: peak FLOP/s})
PEAKS: tuple[tuple[str, dict[str, float]], ...] = (
    # H100 datasheet (nvidia.com/en-us/data-center/h100): SXM bf16 989.4, tf32 494.7; PCIe 756 / 378; NVL 835 / 418
    # (the datasheet's figures are with sparsity: halved here)
    ("NVIDIA H100 PCIe", {"bfloat16": 756 * TERA, "float32": 378 * TERA}),
    ("NVIDIA H100 NVL", {"bfloat16": 835 * TERA, "float32": 418 * TERA}),
    ("NVIDIA H100", {"bfloat16": 989.4 * TERA, "float32": 494.7 * TERA}),
    # H200 datasheet (nvidia.com/en-us/data-center/h200): SXM as the H100 SXM; NVL 835 / 418
    ("NVIDIA H200 NVL", {"bfloat16": 835 * TERA, "float32": 418 * TERA}),
    ("NVIDIA H200", {"bfloat16": 989.4 * TERA, "float32": 494.7 * TERA}),
    # A100 datasheet (nvidia.com/en-us/data-center/a100): bf16 312, tf32 156, SXM and PCIe alike
    ("NVIDIA A100", {"bfloat16": 312 * TERA, "float32": 156 * TERA}),
    # L4 datasheet (nvidia.com/en-us/data-center/l4): bf16 121, tf32 60 (242 and 120 with sparsity)
    ("NVIDIA L4", {"bfloat16": 121 * TERA, "float32": 60 * TERA}),
    # L40S datasheet (nvidia.com/en-us/data-center/l40s): bf16 362.05, tf32 183 (733 and 366 with sparsity)
    ("NVIDIA L40S", {"bfloat16": 362.05 * TERA, "float32": 183 * TERA}),
    # Cloud TPU system architecture (cloud.google.com/tpu/docs/system-architecture-tpu-vm), bf16 per chip:
    # v4 275, v5e 197, v5p 459, v6e 918; JAX names v5e "TPU v5 lite" and v6e "TPU v6 lite"
    ("TPU v4", {"bfloat16": 275 * TERA, "float32": 275 * TERA}),
    ("TPU v5 lite", {"bfloat16": 197 * TERA, "float32": 197 * TERA}),
    ("TPU v5e", {"bfloat16": 197 * TERA, "float32": 197 * TERA}),
    ("TPU v5p", {"bfloat16": 459 * TERA, "float32": 459 * TERA}),
    ("TPU v5", {"bfloat16": 459 * TERA, "float32": 459 * TERA}),
    ("TPU v6 lite", {"bfloat16": 918 * TERA, "float32": 918 * TERA}),
)


def peak_flops(device_kind: str, precision: str) -> float | None:
    """The device's peak dense FLOP/s at `precision` ("float32" or "bfloat16"); None when it is not listed."""
    for prefix, peaks in PEAKS:
        if device_kind.startswith(prefix):
            return peaks.get(precision)
    return None
