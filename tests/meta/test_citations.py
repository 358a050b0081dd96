"""What the project cites must be in the project: the framework conventions live in docs/semantics.md.

Two rules over the tracked text files (``git ls-files``):

* outside ``docs/``, the only Markdown design or semantics document a file may name is ``docs/semantics.md``
  (no path outside the repository, no bare name of a document the repository does not hold);
* every ``docs/semantics.md#anchor`` cited anywhere (and every ``#anchor`` link inside docs/semantics.md) names
  a heading of docs/semantics.md, by GitHub's anchor rule: lowercase, punctuation removed, spaces to ``-``,
  ``-1``, ``-2``, ... appended to repeated headings.
"""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = "docs/semantics.md"
THIS = Path(__file__).resolve().relative_to(ROOT).as_posix()

# a path-like token ending in one of the two document names (spelt so that this file does not match itself)
MENTION = re.compile(r"[\w./~-]*(?:" + "design" + "|" + "semantics" + r")\.md\b")
CITED_ANCHOR = re.compile(re.escape(DOC) + r"#([\w-]+)")
LOCAL_LINK = re.compile(r"\]\(#([\w-]+)\)")


def _tracked_text_files() -> dict[str, str]:
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"not a git checkout: {exc}")
    files = {}
    for name in out.decode().split("\0"):
        path = ROOT / name
        if not name or not path.is_file():
            continue
        data = path.read_bytes()
        if b"\0" in data:
            continue
        try:
            files[name] = data.decode("utf-8")
        except UnicodeDecodeError:
            continue
    return files


def github_anchor(heading: str, seen: dict[str, int]) -> str:
    slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
    n = seen.get(slug, 0)
    seen[slug] = n + 1
    return slug if n == 0 else f"{slug}-{n}"


def doc_anchors(text: str) -> set[str]:
    anchors, seen, fenced = set(), {}, False
    for line in text.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            continue
        m = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if m and not fenced:
            anchors.add(github_anchor(m.group(1), seen))
    return anchors


def mentions_outside_docs(files: dict[str, str]) -> list[str]:
    bad = []
    for name, text in files.items():
        if name.startswith("docs/") or name == THIS:
            continue
        for lineno, line in enumerate(text.splitlines(), 1):
            bad += [f"{name}:{lineno}: {m.group(0)}" for m in MENTION.finditer(line) if m.group(0) != DOC]
    return bad


def dangling_anchors(files: dict[str, str], doc_text: str) -> list[str]:
    anchors = doc_anchors(doc_text)
    bad = []
    for name, text in {**files, DOC: doc_text}.items():
        if name == THIS:  # its own examples of bad citations
            continue
        for lineno, line in enumerate(text.splitlines(), 1):
            cited = CITED_ANCHOR.findall(line) + (LOCAL_LINK.findall(line) if name == DOC else [])
            bad += [f"{name}:{lineno}: #{a}" for a in cited if a not in anchors]
    return bad


def test_semantics_doc_exists():
    assert (ROOT / DOC).is_file(), f"{DOC} is missing"


def test_no_citation_of_documents_outside_the_repository():
    bad = mentions_outside_docs(_tracked_text_files())
    assert not bad, f"cite {DOC} (or the README) instead of:\n" + "\n".join(bad)


def test_cited_anchors_exist():
    bad = dangling_anchors(_tracked_text_files(), (ROOT / DOC).read_text(encoding="utf-8"))
    assert not bad, f"anchors that match no heading of {DOC}:\n" + "\n".join(bad)


def test_anchor_rule():
    seen: dict[str, int] = {}
    assert github_anchor("binary_crossentropy", seen) == "binary_crossentropy"
    assert github_anchor("Keras 2 (tf_keras)", seen) == "keras-2-tf_keras"
    assert github_anchor("TF1 (tf.compat.v1.losses)", seen) == "tf1-tfcompatv1losses"
    assert github_anchor("binary_crossentropy", seen) == "binary_crossentropy-1"
    assert doc_anchors("# A\n```\n# not a heading\n```\n## B c\n") == {"a", "b-c"}


def test_the_checks_catch_what_they_forbid():
    doc = "# Top\n## binary_crossentropy\n"
    files = {
        "adapters/x.py": "see /elsewhere/semantics.md section 2 and design" + ".md, Contracts\n",
        "specs/y.yaml": "ok docs/semantics.md#binary_crossentropy, bad docs/semantics.md#no-such-heading\n",
        "docs/other.md": "docs may talk about design" + ".md\n",
    }
    assert [b.split(": ", 1)[1] for b in mentions_outside_docs(files)] == ["/elsewhere/semantics.md", "design.md"]
    assert dangling_anchors(files, doc) == ["specs/y.yaml:1: #no-such-heading"]
