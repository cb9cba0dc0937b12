"""DSL text -> located document tree: the same tree the YAML front end builds for the same spec.

The grammar is `dslc.lark` (LALR(1): linear time, and conflicts fail when the grammar
loads). A spec reads like this::

    dslc 1
    block residual(filters, kernel=3) {
      conv_a: conv2d($filters, $kernel, padding=same) -> batchnorm -> relu
      add(from=[input, conv_a])
    }
    model net(image: [8, 8, 1], tokens: int32[32]) -> logits {
      stage: residual(16) * 3
      logits: dense(10, trainable=false)
    }
    train { loss = mse; optimizer = adam(1e-3); batch = 32; steps = 100; checkpoint = {every = 50} }

What each construct becomes in the tree (exactly what the equivalent YAML yields):

- `kind(args)`: a call. Positional arguments are `Map` entries keyed by their index (the
  lowering names them from the kind's `positional` tuple), keyword arguments by their name.
  As a value (`adam(1e-3)`), a call is the one-entry mapping `{adam: {0: 1e-3}}`.
- A layer step with no label, arguments or repeat is the bare name (`relu`); otherwise a
  mapping `{kind: {args}, name: label, from: ..., trainable: ..., repeat: N}`, where the
  attributes `name`, `from`, `trainable` and `repeat` given inside the parentheses are
  lifted out of the arguments, `label:` gives `name` and `* N` gives `repeat`.
- `{k = v, ...}` is a mapping, `[a, b]` a list, `"text"` a quoted string, a bare name an
  unquoted string, `$name` a block parameter reference, `true`/`false`/`null` constants.
- `image: [8, 8, 1]` is a shape; `tokens: int32[32]` is `{shape: [32], dtype: int32}`.

Additions beyond the YAML surface, all syntax only: a new line before or after `->`
continues a chain; numbers may use `_` between digits (`10_000`); strings take the
escapes `\\" \\\\ \\n \\t \\r \\uXXXX \\UXXXXXXXX`; a positional argument after a keyword
argument is an error (E020), as in Python.

Nothing here recurses on the input: the number of tokens (E017) and nesting depth (E005) are
capped while tokens are fed to the parser, and the parse tree is transformed by an explicit-stack walk.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, cast

from dslc.spec.errors import DslcError, ErrorSink, Span, printable
from dslc.spec.limits import Limits
from dslc.spec.lower import CALL_ATTRIBUTES
from dslc.spec.source import Source
from dslc.spec.tree import Entry, Key, Map, Node, Scalar, Seq

if TYPE_CHECKING:  # lark is imported only when a .dsl file is parsed
    from lark import Lark, Token, Tree
    from lark.parsers.lalr_interactive_parser import InteractiveParser

_OPENERS = {"_LPAR", "_LSQB", "LBRACE"}
_CLOSERS = {"_RPAR", "_RSQB", "RBRACE"}
# A new line right after these never ends a statement.
_CONTINUATIONS = {"_NL", "_ARROW", "_COMMA"}
_CONSTANTS = {"TRUE": True, "FALSE": False, "NULL": None}
_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r"}
_HEX_WIDTH = {"u": 4, "U": 8}

# Readable names of terminals, for "expected ..." messages.
_WORDS = {
    "_LPAR": "'('", "_RPAR": "')'", "_LSQB": "'['", "_RSQB": "']'", "LBRACE": "'{'", "RBRACE": "'}'",
    "_COMMA": "','", "_EQUAL": "'='", "_COLON": "':'", "_SEMI": "';'", "_ARROW": "'->'", "STAR": "'*'",
    "_NL": "a new line", "NAME": "a name", "NUMBER": "a number", "STRING": "a string",
    "REF": "a '$parameter' reference", "DSLC": "'dslc'", "BLOCK": "'block'", "MODEL": "'model'",
    "TRAIN": "'train'", "TRUE": "'true'", "FALSE": "'false'", "NULL": "'null'", "$END": "the end of the file",
}
# Where any value may start, "a value" says it shorter than listing every literal.
_VALUE_STARTS = {"NUMBER", "STRING", "REF", "NAME", "TRUE", "FALSE", "NULL", "_LSQB", "LBRACE"}
_ORDER = list(_WORDS)
_FOUND = {"NAME": "name", "NUMBER": "number", "REF": "reference", "STRING": "string"}


class _KeepNewlines:
    """lark post-lexer hook: lex new lines in every parser state; `_feed` decides which ones count."""

    always_accept = ("_NL",)

    def process(self, stream: Iterable[Token]) -> Iterable[Token]:
        return stream


@cache
def _parser(strict: bool = False) -> Lark:
    """The LALR parser, made once per process: from the prebuilt tables (`parse_table.py`) where they fit the
    grammar and the installed lark, else built from the grammar."""
    from dslc.spec.parse_table import grammar_text, prebuilt

    grammar = grammar_text()
    if not strict:
        loaded = prebuilt(grammar, _KeepNewlines())
        if loaded is not None:
            return loaded
    return build_parser(grammar, strict)


def build_parser(grammar: str, strict: bool = False) -> Lark:
    """The LALR parser built from `grammar`.

    The grammar is fixed package data, so its strict build (grammar conflicts and terminal
    collisions are errors) runs in the tests, `tests/spec/test_dsl_frontend.py`. Otherwise the
    build skips lark's terminal-collision analysis, which interegular makes cost about
    0.2 s per process whether or not strict mode is on.
    """
    import lark.lexer
    from lark import Lark

    analyse = lark.lexer.has_interegular
    lark.lexer.has_interegular = strict and analyse
    try:
        return Lark(grammar, parser="lalr", strict=strict, propagate_positions=True, maybe_placeholders=False,
                    postlex=_KeepNewlines())
    finally:
        lark.lexer.has_interegular = analyse


def parse_dsl(source: Source, limits: Limits) -> Map:
    """Parse a whole DSL spec; raises `DslcError` (syntax) or `DslcErrors` (everything else found)."""
    tree = _parse(source, limits)
    builder = _TreeBuilder(source, limits)
    root = builder.transform(tree)
    builder.sink.raise_if_any()
    if not root.entries:
        raise DslcError("E014", "the spec is empty", Span(source.name, 1, 1),
                        hint="a spec starts with 'dslc 1' and a 'model' section")
    return root


# -- parsing -------------------------------------------------------------------------------------
def _parse(source: Source, limits: Limits) -> Tree:
    from lark.exceptions import UnexpectedCharacters, UnexpectedToken

    interactive = _parser().parse_interactive(source.text)
    brackets: list[_Bracket] = []
    try:
        _feed(interactive, source, limits, brackets)
        return interactive.feed_eof()
    except UnexpectedCharacters as exc:
        raise _unexpected_character(source, exc.line, exc.column, exc.char) from None
    except UnexpectedToken as exc:  # LALR reports the end of the text as an unexpected `$END` token
        error = _unexpected_token(source, exc.token, interactive.accepts() or set(exc.expected))
        raise _unclosed(source, brackets, exc.token, error) or error from None


@dataclass(frozen=True)
class _Bracket:
    """An open bracket: its token, and whether new lines inside it are dropped."""

    token: Token
    drops_new_lines: bool


def _feed(interactive: InteractiveParser, source: Source, limits: Limits, brackets: list[_Bracket]) -> None:
    """Feed tokens one at a time: cap their number and nesting, and drop the new lines that do not end a statement.

    The parser must have taken each token before the next is lexed (the lexer is
    contextual), so this looks back only, never ahead. `brackets` holds the brackets open so far.
    """
    previous = None
    count = 0
    for token in interactive.lexer_thread.lex(interactive.parser_state):
        kind = token.type
        if kind == "_NL" and ((brackets and brackets[-1].drops_new_lines) or previous in _CONTINUATIONS):
            continue
        count += 1
        if count > limits.max_items:
            raise DslcError("E017", limits.exceeded("DSL token count", count, limits.max_items, "--max-items"),
                            _token_span(source, token))
        if kind in _OPENERS:
            if len(brackets) >= limits.max_depth:
                message = limits.exceeded("nesting depth", len(brackets) + 1, limits.max_depth, "--max-depth")
                raise DslcError("E005", message, _token_span(source, token))
            # `{` opens a mapping literal in a value position, and a body of statements otherwise.
            drops = kind != "LBRACE" or previous == "_EQUAL" or bool(brackets and brackets[-1].drops_new_lines)
            brackets.append(_Bracket(token, drops))
        interactive.feed_token(token)  # a closer the parser refuses leaves its bracket open, for the message
        if kind in _CLOSERS and brackets:
            brackets.pop()
        previous = kind


_CLOSER_OF = {"_LPAR": "')'", "_LSQB": "']'", "LBRACE": "'}'"}


def _unclosed(source: Source, brackets: list[_Bracket], token: Token, error: DslcError) -> DslcError | None:
    """The syntax error in the user's terms when its cause is the innermost open bracket, left unclosed: the end
    of the file, or a line back at (or left of) the indentation of the line that opened it, comes first."""
    if not brackets:
        return None
    opener = brackets[-1].token
    opened = _token_span(source, opener)
    what = _WORDS[opener.type]
    note = (f"the parser stopped here: {error.message}", error.span) if error.span else None
    if token.type == "$END":
        return DslcError("E020", f"{what} is not closed before the end of the file", opened,
                         hint=f"close it with {_CLOSER_OF[opener.type]}", related=(note,) if note else ())
    stopped = _token_span(source, token).line
    lines = source.text.split("\n")
    if stopped > opened.line and _indentation(lines[stopped - 1]) <= _indentation(lines[opened.line - 1]):
        return DslcError("E020", f"{what} is not closed before line {stopped}", opened,
                         hint=f"close it with {_CLOSER_OF[opener.type]} before line {stopped}",
                         related=(note,) if note else ())
    if token.type in _CLOSERS and _WORDS[token.type] != _CLOSER_OF[opener.type]:
        return DslcError("E020", f"{_WORDS[token.type]} does not close {what}", error.span,
                         hint=f"close {what} with {_CLOSER_OF[opener.type]} first",
                         related=((f"{what} is opened here", opened),))
    return None


def _indentation(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _unexpected_character(source: Source, line: int, column: int, char: str) -> DslcError:
    hint = None
    span = Span(source.name, line, column, line, column + 1)
    if char == '"':
        hint = "a string ends with '\"' on the same line"
    elif char == "'":
        hint = 'strings are written in double quotes: "text"'
    elif char.isalpha() and not char.isascii():  # a look-alike ('е', Cyrillic) must not print as the letter it mimics
        return DslcError("E021", f"U+{ord(char):04X} {unicodedata.name(char, '?')} is not an ASCII letter", span,
                         hint="names are ASCII letters, digits and '_': retype the name (a string may hold any text)")
    return DslcError("E021", f"unexpected character {printable(repr(char))}", span, hint=hint)


def _unexpected_token(source: Source, token: Token, accepted: set[str]) -> DslcError:
    """`accepted`: what the parser could really take next (LALR's `expected` can over-promise)."""
    if token.type == "$END":
        span = source.span_at(len(source.text.rstrip()))
        found = "end of file"
    else:
        span = _token_span(source, token)
        found = _describe(token)
    hint = None
    if token.type == "_COLON" and accepted == {"_EQUAL"}:
        hint = "settings and mapping entries are written 'key = value'"
    return DslcError("E020", f"unexpected {found}; expected {_expected(accepted)}", span, hint=hint)


def _describe(token: Token) -> str:
    if token.type in _FOUND:
        return f"{_FOUND[token.type]} '{printable(str(token), limit=40)}'"
    if token.type == "_NL":
        return "end of line"
    return _WORDS.get(token.type, printable(repr(str(token))))


def _expected(names: set[str]) -> str:
    names = set(names)
    if "_NL" in names:
        names.discard("_SEMI")  # "a new line" covers the separators
    words = [_WORDS.get(name, name) for name in sorted(names - _VALUE_STARTS, key=_rank)]
    if {"NUMBER", "STRING", "NAME"} <= names:
        words.insert(0, "a value")
    else:
        words = [_WORDS[name] for name in sorted(names & _VALUE_STARTS, key=_rank)] + words
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " or " + words[-1]


def _rank(name: str) -> int:
    return _ORDER.index(name) if name in _ORDER else len(_ORDER)


def _token_span(source: Source, token: Token) -> Span:
    # lark locates every token it lexes; only a token made by hand lacks a line
    return Span(source.name, token.line or 1, token.column or 1, token.end_line, token.end_column)


# -- parse tree -> document tree ---------------------------------------------------------------------
@dataclass(frozen=True)
class _Label:
    name: str
    span: Span


@dataclass(frozen=True)
class _Arguments:
    entries: tuple[Entry, ...]  # positional ones keyed by index
    span: Span


@dataclass(frozen=True)
class _Repeat:
    star_span: Span
    value: Node


@dataclass(frozen=True)
class _Body:
    brace_span: Span
    steps: Seq


@dataclass(frozen=True)
class _Block:
    keyword_span: Span
    entry: Entry


class _TreeBuilder:
    """Bottom-up rewrite of lark's parse tree with an explicit stack (no recursion on hostile nesting)."""

    def __init__(self, source: Source, limits: Limits) -> None:
        self.source = source
        self.limits = limits
        self.sink = ErrorSink()
        self.rules: dict[str, Callable[[Span, list[Any]], Any]] = {
            "start": self.start, "version": self.version, "block": self.block, "params": self.params,
            "param": self.param, "model": self.model, "inputs": self.inputs, "input": self.input,
            "outputs": self.outputs, "body": self.body, "step": self.step, "label": self.label,
            "repeat": self.repeat, "train": self.train, "setting": self.pair, "arguments": self.arguments,
            "argument": self.argument, "value": self.value, "list": self.sequence, "call": self.call,
            "mapping": self.mapping, "pair": self.pair,
        }

    def transform(self, root: Tree) -> Map:
        from lark import Tree

        done: list[Any] = []
        stack: list[tuple[Any, bool]] = [(root, False)]
        while stack:
            item, children_done = stack.pop()
            if not isinstance(item, Tree):
                done.append(item)  # a token
            elif children_done:
                count = len(item.children)
                children = done[len(done) - count:]
                del done[len(done) - count:]
                done.append(self.rules[item.data](self.meta_span(item), children))
            else:
                stack.append((item, True))
                stack += [(child, False) for child in reversed(item.children)]
        return done[0]

    # -- spans and errors ------------------------------------------------------------------------
    def span(self, token: Token) -> Span:
        return _token_span(self.source, token)

    def meta_span(self, tree: Tree) -> Span:
        meta = tree.meta
        if meta.empty:
            return Span(self.source.name, 1, 1)
        return Span(self.source.name, meta.line, meta.column, meta.end_line, meta.end_column)

    def unique(self, entries: Sequence[Entry], what: str) -> tuple[Entry, ...]:
        """The entries with later duplicates reported (E012) and dropped, as the YAML front end does."""
        seen: dict[Key, Span] = {}
        kept = []
        for entry in entries:
            if entry.key in seen:
                self.sink.add(DslcError("E012", f"duplicate {what} '{entry.key}'", entry.key_span,
                                        related=(("first defined here", seen[entry.key]),)))
                continue
            seen[entry.key] = entry.key_span
            kept.append(entry)
        return tuple(kept)

    # -- sections --------------------------------------------------------------------------------
    def start(self, span: Span, statements: list[Entry | _Block]) -> Map:
        entries: list[Entry] = []
        blocks = [item for item in statements if isinstance(item, _Block)]
        for item in statements:
            if isinstance(item, Entry):
                entries.append(item)
            elif item is blocks[0]:  # all blocks form one `blocks` mapping, where the first one stands
                last = blocks[-1].entry.value.span
                blocks_span = Span(span.file, item.keyword_span.line, item.keyword_span.col, last.end_line,
                                   last.end_col)
                defined = self.unique([block.entry for block in blocks], "block")
                entries.append(Entry("blocks", item.keyword_span, Map(defined, blocks_span)))
        if entries:  # the document starts at its first statement, not at the new lines before it
            first = entries[0].key_span
            span = Span(span.file, first.line, first.col, span.end_line, span.end_col)
        return Map(self.unique(entries, "section"), span)

    def version(self, span: Span, children: list[Any]) -> Entry:
        keyword, value = children
        return Entry("dslc", self.span(keyword), value)

    def block(self, span: Span, children: list[Any]) -> _Block:
        keyword, name, *rest = children
        body: _Body = rest[-1]
        entries = [Entry("params", rest[0].span, rest[0])] if len(rest) == 2 and rest[0].items else []
        entries.append(Entry("layers", body.brace_span, body.steps))
        return _Block(self.span(keyword), Entry(str(name), self.span(name), Map(tuple(entries), span)))

    def params(self, span: Span, params: list[Node]) -> Seq:
        return Seq(tuple(params), span)

    def param(self, span: Span, children: list[Any]) -> Node:
        """A required parameter is its name; one with a default is `{name: default}`, as in YAML."""
        name = children[0]
        if len(children) == 1:
            return Scalar(str(name), self.span(name))
        return Map((Entry(str(name), self.span(name), children[1]),), span)

    def model(self, span: Span, children: list[Any]) -> Entry:
        keyword, name, inputs, *rest = children
        body: _Body = rest[-1]
        entries = [Entry("name", self.span(name), Scalar(str(name), self.span(name))),
                   Entry("inputs", inputs.span, inputs),
                   Entry("layers", body.brace_span, body.steps)]
        if len(rest) == 2:
            entries.append(Entry("outputs", rest[0].span, rest[0]))
        return Entry("model", self.span(keyword), Map(tuple(entries), span))

    def inputs(self, span: Span, inputs: list[Entry]) -> Map:
        return Map(self.unique(inputs, "input"), span)

    def input(self, span: Span, children: list[Any]) -> Entry:
        """`image: [8, 8, 1]` is a shape; `tokens: int32[32]` is `{shape: [32], dtype: int32}`."""
        name, *rest = children
        shape: Seq = rest[-1]
        value: Node = shape
        if len(rest) == 2:
            dtype = rest[0]
            value = Map((Entry("shape", shape.span, shape),
                         Entry("dtype", self.span(dtype), Scalar(str(dtype), self.span(dtype)))),
                        Span(span.file, dtype.line, dtype.column, shape.span.end_line, shape.span.end_col))
        return Entry(str(name), self.span(name), value)

    def outputs(self, span: Span, names: list[Token]) -> Seq:
        items = tuple(Scalar(str(name), self.span(name)) for name in names)
        first, last = items[0].span, items[-1].span
        return Seq(items, Span(span.file, first.line, first.col, last.end_line, last.end_col))

    def train(self, span: Span, children: list[Any]) -> Entry:
        keyword, brace, *settings, _ = children
        body_span = Span(span.file, brace.line, brace.column, span.end_line, span.end_col)
        return Entry("train", self.span(keyword), Map(self.unique(settings, "setting"), body_span))

    # -- layer steps -----------------------------------------------------------------------------
    def body(self, span: Span, children: list[Any]) -> _Body:
        brace, *steps, _ = children
        return _Body(self.span(brace), Seq(tuple(steps), span))

    def label(self, span: Span, children: list[Token]) -> _Label:
        return _Label(str(children[0]), self.span(children[0]))

    def repeat(self, span: Span, children: list[Any]) -> _Repeat:
        star, value = children
        return _Repeat(self.span(star), value)

    def step(self, span: Span, children: list[Any]) -> Node:
        label = children.pop(0) if isinstance(children[0], _Label) else None
        kind, *rest = children
        kind_span = self.span(kind)
        arguments = next((item for item in rest if isinstance(item, _Arguments)), None)
        repeat = next((item for item in rest if isinstance(item, _Repeat)), None)
        if label is None and arguments is None and repeat is None:
            return Scalar(str(kind), kind_span)
        params: list[Entry] = []
        attributes: list[Entry] = []
        if label is not None:
            attributes.append(Entry("name", label.span, Scalar(label.name, label.span)))
        for entry in arguments.entries if arguments else ():
            (attributes if entry.key in CALL_ATTRIBUTES else params).append(entry)
        if repeat is not None:
            attributes.append(Entry("repeat", repeat.star_span, repeat.value))
        args = Map(tuple(params), arguments.span if arguments else kind_span)
        return Map((Entry(str(kind), kind_span, args), *self.unique(attributes, "layer attribute")), span)

    # -- values ----------------------------------------------------------------------------------
    def arguments(self, span: Span, arguments: list[Entry]) -> _Arguments:
        """Positional entries get their index as key; they must come before keyword ones."""
        entries: list[Entry] = []
        keyword_seen = False
        for index, entry in enumerate(arguments):
            if entry.key != -1:
                keyword_seen = True
                entries.append(entry)
            elif keyword_seen:
                self.sink.add(DslcError("E020", "a positional argument follows a keyword argument", entry.key_span,
                                        hint="write positional arguments first, or name this one"))
            else:
                entries.append(Entry(index, entry.key_span, entry.value))
        return _Arguments(self.unique(entries, "argument"), span)

    def argument(self, span: Span, children: list[Any]) -> Entry:
        if len(children) == 1:  # positional: the index is known only to `arguments`
            return Entry(-1, children[0].span, children[0])
        name, value = children
        return Entry(str(name), self.span(name), value)

    def pair(self, span: Span, children: list[Any]) -> Entry:
        name, value = children
        return Entry(str(name), self.span(name), value)

    def call(self, span: Span, children: list[Any]) -> Map:
        name, arguments = children
        return Map((Entry(str(name), self.span(name), Map(arguments.entries, arguments.span)),), span)

    def mapping(self, span: Span, children: list[Any]) -> Map:
        return Map(self.unique(children[1:-1], "key"), span)

    def sequence(self, span: Span, items: list[Node]) -> Seq:
        return Seq(tuple(items), span)

    def value(self, span: Span, children: list[Any]) -> Node:
        if not isinstance(children[0], str):  # already a node: a list, call or mapping
            return children[0]
        item = cast("Token", children[0])  # a token (lark's `Token` is a `str`)
        kind = item.type
        if kind == "NUMBER":
            return self.number(item, span)
        if kind == "STRING":
            return Scalar(self.string(item, span), span, quoted=True)
        if kind in _CONSTANTS:
            return Scalar(_CONSTANTS[kind], span)
        return Scalar(str(item), span)  # a name, or a `$name` reference

    def number(self, token: Token, span: Span) -> Scalar:
        text = str(token).replace("_", "")
        digits = sum(ch.isdigit() for ch in text) if len(text) > self.limits.max_number_digits else 0
        if digits > self.limits.max_number_digits:  # never hand a giant literal to int()
            self.sink.add(DslcError("E205", f"number literal has {digits} digits "
                                            f"(at most {self.limits.max_number_digits})", span))
            return Scalar(None, span)
        if any(ch in text for ch in ".eE"):
            return Scalar(float(text), span)
        return Scalar(int(text), span)

    def string(self, token: Token, span: Span) -> str:
        body = str(token)[1:-1]
        out: list[str] = []
        index = 0
        while index < len(body):
            char = body[index]
            if char != "\\":
                out.append(char)
                index += 1
                continue
            escape = body[index + 1]  # the grammar guarantees one
            width = _HEX_WIDTH.get(escape, 0)
            digits = body[index + 2:index + 2 + width]
            if escape in _ESCAPES:
                out.append(_ESCAPES[escape])
            elif width and len(digits) == width and all(c in "0123456789abcdefABCDEF" for c in digits) \
                    and _is_scalar_value(int(digits, 16)):
                out.append(chr(int(digits, 16)))
            else:
                col = span.col + 1 + index
                shown = printable(body[index:index + 2 + width])
                self.sink.add(DslcError("E020", f"invalid escape sequence '{shown}' in a string",
                                        Span(span.file, span.line, col, span.line, col + 2),
                                        hint='use \\" \\\\ \\n \\t \\r \\uXXXX or \\UXXXXXXXX'))
                width = 0
            index += 2 + width
        return "".join(out)


def _is_scalar_value(code: int) -> bool:
    """A Unicode scalar value: not above U+10FFFF and not a lone surrogate (which no UTF-8 file can hold)."""
    return code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF
