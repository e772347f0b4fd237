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


_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(text: str) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for line in _prose(text).splitlines():
        match = re.match(r"#{1,6} (.+)", line)
        if match:
            slug = _anchor(match[1])
            out.add(slug if slug not in seen else f"{slug}-{seen[slug]}")
            seen[slug] = seen.get(slug, 0) + 1
    return out


def _prose(text: str) -> str:
    """The text without fenced code blocks and inline code (links there are not links)."""
    text = re.sub(r"^ *```.*?^ *```", "", text, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", text)


def _documents() -> list:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_anchor_follows_github() -> None:
    assert _anchor("Recordings of any length (streaming)") == "recordings-of-any-length-streaming"
    assert _anchor("numba's start-up, trimmed") == "numbas-start-up-trimmed"
    assert _anchors("# A\n## A\n```\n# not a heading\n```\n") == {"a", "a-1"}


def test_relative_links_point_to_existing_files_and_headings() -> None:
    checked = 0
    for doc in _documents():
        for target in _LINK.findall(_prose(doc.read_text())):
            if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
                continue
            path, _, anchor = target.partition("#")
            dest = (doc.parent / path).resolve() if path else doc
            where = f"{doc.relative_to(ROOT)} links to {target!r}"
            assert dest.exists(), f"{where}: no such file"
            if anchor:
                assert dest.suffix == ".md", f"{where}: an anchor into a file that is not markdown"
                assert anchor in _anchors(dest.read_text()), f"{where}: no such heading"
            checked += 1
    assert checked > 0


def test_docs_are_indexed_and_linked_from_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    index = (ROOT / "docs" / "README.md").read_text()
    for doc in sorted((ROOT / "docs").glob("*.md")):
        if doc.name == "README.md":
            continue
        assert f"]({doc.name})" in index, f"docs/README.md does not list {doc.name}"
        assert f"](docs/{doc.name}" in readme, f"README.md does not link docs/{doc.name}"
