"""Spec files -> typed IR: front ends, validation, printers. Never imports JAX."""
