"""Neovim's built-in LSP client against `dslc lsp` (editors/neovim), where `nvim` is installed (CI lacks it).

- editors/neovim/check_diagnostics.lua, run headless, receives the server's diagnostics for a broken .dsl spec and
  a broken YAML spec (an unknown layer kind: E104) and an empty list for a valid spec.
- editors/neovim/init.lua, the configuration for Neovim 0.7 to 0.10, attaches the server to a .dsl file.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
NEOVIM = ROOT / "editors" / "neovim"
NVIM = shutil.which("nvim")

pytestmark = pytest.mark.skipif(NVIM is None, reason="nvim is not on PATH (apt-get install neovim)")

BROKEN_DSL = "dslc 1\n\nmodel broken(x: [4]) {\n  dense2(10)\n}\n"
BROKEN_YAML = "dslc: 1\nmodel:\n  name: broken\n  inputs: {x: [4]}\n  layers:\n    - dense2: {units: 10}\n"


def _server() -> list[str]:
    """The language server of the Python running the tests (its venv's `dslc`, else `python -m dslc`)."""
    pytest.importorskip("pygls", reason="dslc lsp needs the lsp extra: pip install 'dslc[lsp]'")
    executable = Path(sys.executable).parent / "dslc"
    if executable.is_file():
        return [str(executable), "lsp"]
    return [sys.executable, "-m", "dslc", "lsp"]


def _check(spec: Path, expect: str, timeout_ms: int = 30000) -> subprocess.CompletedProcess[str]:
    """Runs check_diagnostics.lua on `spec`, expecting the code `expect` (`none`: an empty list)."""
    assert NVIM is not None
    env = {**os.environ, "DSLC_SPEC": str(spec), "DSLC_EXPECT_CODE": expect, "DSLC_TIMEOUT_MS": str(timeout_ms),
           "DSLC_LSP_CMD": json.dumps(_server())}
    return subprocess.run([NVIM, "--headless", "--clean", "-n", "-c", f"luafile {NEOVIM / 'check_diagnostics.lua'}"],
                          cwd=spec.parent, env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(("name", "text", "line"), [("broken.dsl", BROKEN_DSL, 4), ("broken.yaml", BROKEN_YAML, 6)])
def test_diagnostics_of_a_broken_spec_reach_neovim(tmp_path: Path, name: str, text: str, line: int) -> None:
    spec = tmp_path / name
    spec.write_text(text)
    result = _check(spec, "E104")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{name}:{line}:" in result.stdout
    assert "error[E104] unknown layer kind 'dense2'" in result.stdout
    assert "did you mean 'dense'?" in result.stdout


def test_a_valid_spec_gets_no_diagnostics(tmp_path: Path) -> None:
    spec = tmp_path / "two_branch.dsl"
    shutil.copy(ROOT / "examples" / "two_branch.dsl", spec)
    result = _check(spec, "none")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "check_diagnostics: no diagnostics" in result.stdout


def test_the_check_fails_when_the_expected_code_does_not_arrive(tmp_path: Path) -> None:
    spec = tmp_path / "broken.dsl"
    spec.write_text(BROKEN_DSL)
    result = _check(spec, "E999", timeout_ms=2000)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "no diagnostic E999 within 2000 ms" in result.stdout


def test_the_init_lua_for_neovim_0_7_to_0_10_attaches_the_server(tmp_path: Path) -> None:
    server = _server()
    if server[0] == sys.executable:
        pytest.skip("init.lua runs `dslc lsp`: needs the dslc executable next to the tests' Python")
    spec = tmp_path / "broken.dsl"
    spec.write_text(BROKEN_DSL)
    report = ("lua vim.wait(30000, function() return #vim.diagnostic.get(0) > 0 end, 50); "
              "for _, d in ipairs(vim.diagnostic.get(0)) do io.stdout:write(vim.bo.filetype .. ' ' "
              ".. (d.lnum + 1) .. ' ' .. d.message .. '\\n') end")
    env = {**os.environ, "PATH": f"{Path(server[0]).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    assert NVIM is not None
    result = subprocess.run([NVIM, "--headless", "-n", "-i", "NONE", "-u", str(NEOVIM / "init.lua"), str(spec),
                             "-c", report, "-c", "qall!"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "dslc 4 unknown layer kind 'dense2'" in result.stdout, result.stdout + result.stderr
