"""`dslc lsp` latency, as an editor feels it: hover p50/p95, and didChange until the diagnostics arrive.

Two documents: examples/resnet50.yaml and a generated 1,000-layer DSL spec. One server over stdio, as an editor
runs it; each didChange sends the whole text again (the server syncs whole documents), so each one re-checks it.

    python bench/lsp_latency.py [--hovers 200] [--changes 20]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT
from lsprotocol import types
from pygls.lsp.client import LanguageClient

RESNET50 = ROOT / "examples" / "resnet50.yaml"
TRAIN = ("\ntrain {\n  loss = softmax_cross_entropy\n  optimizer = adam(0.001)\n  batch = 32\n  epochs = 1\n"
         "  data = digits\n}\n")


def deep_spec(layers: int) -> str:
    """A sequential DSL spec of `layers` dense layers over the digits' 64 features."""
    body = "".join("  dense(64, activation=relu)\n" for _ in range(layers - 1))
    return f"dslc 1\n\nmodel deep(x: [64]) {{\n{body}  dense(10)\n}}\n{TRAIN}"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


class Probe:
    """A client that times the server's answers."""

    def __init__(self) -> None:
        self.client = LanguageClient("lsp-latency", "1")
        self.published = asyncio.Event()

        @self.client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def on_diagnostics(_: types.PublishDiagnosticsParams) -> None:
            self.published.set()

    async def start(self) -> None:
        await self.client.start_io(sys.executable, "-m", "dslc", "lsp")
        await self.client.initialize_async(types.InitializeParams(capabilities=types.ClientCapabilities()))
        self.client.initialized(types.InitializedParams())

    async def open(self, uri: str, text: str) -> None:
        self.published.clear()
        self.client.text_document_did_open(types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri, "dslc", 1, text)))
        await self.published.wait()

    async def hovers(self, uri: str, line: int, count: int) -> list[float]:
        """Seconds per hover on the 0-based line."""
        times = []
        for _ in range(count):
            start = time.perf_counter()
            answer = await self.client.text_document_hover_async(types.HoverParams(
                types.TextDocumentIdentifier(uri), types.Position(line, 4)))
            times.append(time.perf_counter() - start)
            assert answer is not None, "no hover"
        return times

    async def changes(self, uri: str, text: str, count: int) -> list[float]:
        """Seconds from each didChange to the diagnostics it brings."""
        times = []
        for version in range(2, count + 2):
            self.published.clear()
            start = time.perf_counter()
            whole = types.TextDocumentContentChangeWholeDocument(text)
            self.client.text_document_did_change(types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(version, uri), [whole]))
            await self.published.wait()
            times.append(time.perf_counter() - start)
        return times

    async def stop(self) -> None:
        await self.client.shutdown_async(None)
        self.client.exit(None)
        await self.client.stop()


def row(name: str, what: str, times: list[float]) -> str:
    ms = [t * 1000 for t in times]
    return f"| {name} | {what} | {len(ms)} | {statistics.median(ms):.1f} | {percentile(ms, 0.95):.1f} |"


async def measure(hovers: int, changes: int) -> list[str]:
    probe = Probe()
    await probe.start()
    rows = ["| document | request | n | p50 ms | p95 ms |", "|---|---|---:|---:|---:|"]
    with tempfile.TemporaryDirectory() as folder:
        deep = Path(folder) / "deep.dsl"
        documents = [("resnet50.yaml (174 layers)", RESNET50, RESNET50.read_text(encoding="utf-8"),
                      next(i for i, line in enumerate(RESNET50.read_text(encoding="utf-8").splitlines())
                           if "kernel: 7, stride: 2" in line)),
                     ("generated, 1,000 layers", deep, deep_spec(1000), 503)]
        for name, path, text, line in documents:
            uri = path.as_uri()
            await probe.open(uri, text)
            rows.append(row(name, "hover", await probe.hovers(uri, line, hovers)))
            rows.append(row(name, "didChange → diagnostics", await probe.changes(uri, text, changes)))
    await probe.stop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hovers", type=int, default=200)
    parser.add_argument("--changes", type=int, default=20)
    args = parser.parse_args()
    print("\n".join(asyncio.run(measure(args.hovers, args.changes))))


if __name__ == "__main__":
    main()
