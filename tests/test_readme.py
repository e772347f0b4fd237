"""The README's two commands are the ones CI runs, word for word."""

from __future__ import annotations

import re

from conftest import ROOT


def _fenced_commands(text: str) -> list[str]:
    return [b.strip() for b in re.findall(r"```bash\n(.*?)```", text, flags=re.S)]


def test_ci_runs_the_readme_commands_verbatim() -> None:
    readme = (ROOT / "README.md").read_text()
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = _fenced_commands(quick)
    assert commands[:2] == ["pip install . && sleepsignal demo", 'pip install ".[test]" && pytest']
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    for command in commands[:2]:
        assert command in ci, f"{command!r} is in the README but .ci/run does not run it"
