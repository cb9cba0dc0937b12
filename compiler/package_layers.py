"""The `layers.py` of an exported Flax package: the layer classes a model uses, copied from `spec/layers/_flax.py`.

Only the top-level definitions the used classes need, directly or through others (helpers, base
classes, tables such as `FUNCTIONS`), in the file's order, and only the imports those reference:
the result is the code of `_flax.py` itself, verbatim, with nothing unused for a linter to flag.
"""

from __future__ import annotations

import ast
import inspect
import sys
from collections.abc import Iterable

from dslc.spec.layers import _flax

HEADER = '"""The layer classes of this model (from dslc\'s spec/layers/_flax.py): jax and flax only."""\n'


def _defined(statement: ast.stmt) -> set[str]:
    """The names a top-level statement binds."""
    if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {statement.name}
    if isinstance(statement, ast.Import | ast.ImportFrom):
        return {(alias.asname or alias.name).split(".")[0] for alias in statement.names}
    targets: list[ast.expr] = []
    if isinstance(statement, ast.Assign):
        targets = statement.targets
    elif isinstance(statement, ast.AnnAssign | ast.AugAssign):
        targets = [statement.target]
    return {node.id for target in targets for node in ast.walk(target) if isinstance(node, ast.Name)}


def _used(statement: ast.stmt) -> set[str]:
    return {node.id for node in ast.walk(statement) if isinstance(node, ast.Name)}


def layers_source(classes: Iterable[str]) -> str:
    """The source of `classes` (names in `_flax.CONSTRUCTORS`) and everything they need, as one module."""
    source = inspect.getsource(_flax)
    tree = ast.parse(source)
    body = [statement for statement in tree.body
            if not (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant))]  # docstring
    definers: dict[str, list[int]] = {}
    for index, statement in enumerate(body):
        for name in _defined(statement):
            definers.setdefault(name, []).append(index)
    wanted = [name for name in classes if name in _flax.CONSTRUCTORS]
    kept: set[int] = {index for index, statement in enumerate(body)
                      if isinstance(statement, ast.ImportFrom) and statement.module == "__future__"}
    todo = [index for name in wanted for index in definers[name]]
    while todo:
        index = todo.pop()
        if index in kept:
            continue
        kept.add(index)
        todo.extend(i for name in _used(body[index]) for i in definers.get(name, ()))
    lines = source.splitlines()
    definitions = []
    for index in sorted(kept):
        statement = body[index]
        if isinstance(statement, ast.Import | ast.ImportFrom):
            continue
        first = min([statement.lineno, *(decorator.lineno for decorator in getattr(statement, "decorator_list", []))])
        definitions.append("\n".join(lines[_with_comments(lines, first) - 1:statement.end_lineno]))
    used = set().union(*(_used(body[index]) for index in kept))
    imports = [_imports(statement, used) for statement in (body[index] for index in sorted(kept))
               if isinstance(statement, ast.Import | ast.ImportFrom)]
    standard = [line for line in imports if line and line.split()[1].split(".")[0] in sys.stdlib_module_names]
    others = [line for line in imports if line and line not in standard]
    head = "\n\n".join(["from __future__ import annotations", "\n".join(standard), "\n".join(others)])
    code = [line for line in definitions[0].splitlines() if not line.startswith("#")][0]
    after = "\n\n\n" if code.startswith(("def ", "class ", "@")) else "\n\n"  # as isort spaces them
    return (HEADER + "\n" + head.replace("\n\n\n", "\n\n") + after + "\n\n\n".join(definitions) + "\n")


def _imports(statement: ast.Import | ast.ImportFrom, used: set[str]) -> str:
    """The import statement with only the names in `used` (empty when none is; `__future__` is written apart)."""
    names = [alias for alias in statement.names if (alias.asname or alias.name).split(".")[0] in used]
    if not names or (isinstance(statement, ast.ImportFrom) and statement.module == "__future__"):
        return ""
    written = ", ".join(alias.name + (f" as {alias.asname}" if alias.asname else "") for alias in names)
    if isinstance(statement, ast.ImportFrom):
        return f"from {statement.module} import {written}"
    return f"import {written}"


def _with_comments(lines: list[str], first: int) -> int:
    """The first line of the comment block right above line `first` (1-based), or `first`."""
    while first > 1 and lines[first - 2].startswith("#"):
        first -= 1
    return first
