"""The catalogue of stable error codes. Codes never change meaning once published."""

from __future__ import annotations

CODES: dict[str, str] = {
    # E0xx: reading the file, limits, syntax
    "E001": "the file cannot be read",
    "E002": "the file is larger than the byte budget",
    "E003": "the file is not valid UTF-8 or contains a NUL byte",
    "E004": "unknown file type (use .yaml, .yml or .dsl)",
    "E005": "nesting deeper than the depth budget",
    "E006": "more YAML aliases than the alias budget",
    "E007": "more layers than the layer budget (after expanding blocks)",
    "E010": "YAML syntax error",
    "E011": "YAML tags are not allowed (a spec is data, not code)",
    "E012": "duplicate key",
    "E013": "more than one YAML document",
    "E014": "empty spec",
    "E015": "YAML alias to an unknown or enclosing anchor, or a merge key",
    "E020": "DSL syntax error",
    "E021": "DSL: unexpected character",
    # E1xx: structure of the spec
    "E101": "unknown key",
    "E102": "missing required key",
    "E103": "wrong kind of node (mapping, list or single value expected)",
    "E104": "unknown layer kind",
    "E105": "unknown name in a closed vocabulary (optimizer, schedule, loss, metric, data source)",
    "E106": "a layer entry must name exactly one layer kind",
    "E107": "unsupported spec version",
    "E108": "too many positional arguments",
    "E109": "argument given twice",
    # E2xx: values
    "E201": "wrong value type",
    "E202": "value out of range",
    "E203": "value not among the allowed choices",
    "E204": "not a finite number",
    "E205": "invalid value",
    # E3xx: blocks
    "E301": "reference to an unknown block parameter",
    "E302": "missing required block argument",
    "E303": "a block uses itself (recursive blocks)",
    "E304": "block name clashes with a layer kind or a layer attribute",
    "E305": "block parameter reference outside a block",
    "E306": "unknown block argument",
    # E4xx: the layer graph
    "E401": "input name refers to no layer or model input",
    "E402": "duplicate layer name",
    "E403": "the layer graph has a cycle",
    "E404": "output name refers to no layer",
    "E405": "the model has no layers",
    "E406": "wrong number of inputs for a layer",
    # E5xx: shapes
    "E501": "the shapes of a merge layer's inputs do not agree (add, multiply, concat)",
    "E502": "a kernel or pooling window is larger than its (padded) input",
    "E503": "a parameter does not fit the input shape (groups, heads, per-axis sizes, reshape count, axis)",
    "E504": "wrong input rank for the layer",
    "E505": "embedding input must have an integer dtype (int32, int64, uint8)",
    "E506": "a dimension that must be known is unknown",
    # E6xx: training (checked before any step runs) and devices
    "E601": "the requested device is not present (or not a device name)",
    "E602": "training a model with several outputs is not supported yet",
    "E603": "the loss does not fit the model's output",
    "E604": "a metric does not fit the model's output or the loss's targets",
    "E605": "a metric is given twice",
    "E606": "bfloat16 precision on a model that computes nothing in floating point",
    "E607": "the model has no trainable parameters",
    "E608": "inconsistent learning-rate schedule (warmup not shorter than the schedule)",
    "E609": "an optimizer option that has no effect (nesterov without momentum)",
    "E610": "checkpoint.best names no metric",
    "E611": "the data source does not fit the model's inputs, its output or the loss",
    # Gxxx: policy gates of `dslc check` (exit code 1, not 2)
    "G001": "the depth verdict does not meet --require",
    "G002": "more parameters than --max-params",
    "G003": "more FLOPs per example than --max-flops",
    # E9xx: internal
    "E900": "internal error (a bug in dslc: please report it)",
}
