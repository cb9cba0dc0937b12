"""IR -> analysis and Flax modules. `compiler.analysis` never imports JAX."""
