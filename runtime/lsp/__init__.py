"""`dslc lsp`: a language server for spec files (diagnostics, hover, inlay hints, symbols, formatting). No JAX.

analysis.py turns a document's text into findings and facts, positions.py maps spans to LSP ranges,
features.py builds each answer from those facts, server.py wires them to pygls.
"""
