"""Static analysis of a spec's graph: shapes, cost, depth. Never imports JAX."""
