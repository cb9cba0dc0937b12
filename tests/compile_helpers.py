"""Compilation settings for tests that compile programs only to compare their results or dtypes.

Such a test compiles programs that run once, so XLA's compile time is all it waits on: without LLVM's optimisation
passes they compile in about half the time (a bfloat16 transformer's initialisation and forward pass: 4.3 -> 2.2 s).
Everything else compiles as users' runs do: the suite sets no XLA flags, and a step compiled this way runs slower.
"""

COMPILE_FAST = {"xla_backend_optimization_level": 0, "xla_llvm_disable_expensive_passes": True}
