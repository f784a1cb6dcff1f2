"""The robustness corpus: generated inputs (robust_cases.py) and the one way tests run the CLI on them."""
from __future__ import annotations

import pytest

from cnnlab.cli import main


@pytest.fixture
def cli(capsys):
    """Run `cnnlab ARGS` in this process: (exit code, stdout, stderr)."""
    def run(*args: str) -> tuple[int, str, str]:
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, out, err
    return run
