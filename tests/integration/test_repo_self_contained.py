"""The repository holds its own documentation: nothing in it points outside it.

A clone is all a reader has. So no tracked file (source comment, README,
config, test) may cite a design, style or protocol document that lives
beside the repository, every path under docs/ that a file names must exist,
and every relative link in a Markdown file must lead to a file or directory
of the repository (and, for a #fragment into a Markdown file, to one of its
headings).

Needs no regcache binary and no network; reads the files `git ls-files`
lists, tracked or new (or, outside a git checkout, the tree without build directories).

Run:  python3 -m unittest -v test_repo_self_contained
"""

import os
import re
import subprocess
import unittest
import urllib.parse

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SKIPPED_DIRS = {".git", "build", "build-fuzz", "data", "__pycache__"}

# This file names what it looks for, so it is the one file not scanned.
THIS_FILE = os.path.relpath(os.path.abspath(__file__), ROOT)

# Documents that exist only outside the repository: the team folder next to
# a checkout (its name is assembled so this file does not spell the path).
_DOC = r"\.md\b"
_TEAM_FOLDER = "sha" + "red"
OUTSIDE_REFERENCES = [
    (re.compile(r"(?:\.\./)+" + _TEAM_FOLDER + r"\b"), "a path into the team folder beside the checkout"),
    (re.compile(r"/work/" + _TEAM_FOLDER + r"\b"), "an absolute path into the team folder"),
    (re.compile(r"\bDESIGN" + _DOC), "a design document outside the repository"),
    (re.compile(r"\bSTYLE" + _DOC), "a style guide outside the repository"),
]
# The only protocol document is docs/PROTOCOL.md; files in docs/ may name it
# as their sibling (PROTOCOL.md or ./PROTOCOL.md).
PROTOCOL_REFERENCE = re.compile(r"(?:[\w.-]*/)*PROTOCOL" + _DOC)
DOCS_PATH = re.compile(r"(?<![\w/.-])docs/[\w./-]*\w")

FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.M | re.S)
INLINE_CODE = re.compile(r"`[^`\n]*`")
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_DEFINITION = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$", re.M)
EXTERNAL = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|//)")


def tracked_files():
    try:
        out = subprocess.run(["git", "-C", ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard"], capture_output=True, check=True).stdout
        names = [n for n in out.decode().split("\0") if n]
        # Tracked and new files; a file deleted in the work tree is not there.
        return sorted(n for n in names if os.path.isfile(os.path.join(ROOT, n)))
    except (OSError, subprocess.CalledProcessError):
        names = []
        for top, dirs, files in os.walk(ROOT):
            dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS and not d.startswith("build")]
            names += [os.path.relpath(os.path.join(top, f), ROOT) for f in files]
        return sorted(names)


def read_text(name):
    try:
        with open(os.path.join(ROOT, name), encoding="utf-8") as f:
            return f.read()
    except UnicodeDecodeError:
        return None  # binary: cannot cite anything


def line_of(text, offset):
    return text.count("\n", 0, offset) + 1


def github_anchor(heading):
    """The fragment GitHub gives a heading: lowercase, punctuation dropped, spaces to '-'."""
    text = INLINE_CODE.sub(lambda m: m.group(0)[1:-1], heading.strip())
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = text.lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors_of(markdown):
    anchors, seen = set(), {}
    for m in re.finditer(r"^#{1,6}\s+(.+?)\s*#*\s*$", FENCE.sub("", markdown), re.M):
        base = github_anchor(m.group(1))
        n = seen.get(base, 0)
        seen[base] = n + 1
        anchors.add(base if n == 0 else f"{base}-{n}")
    return anchors


def without_code(markdown):
    """The Markdown with code blocks and spans blanked (same offsets), where links are not links."""
    blank = lambda m: re.sub(r"[^\n]", " ", m.group(0))
    return INLINE_CODE.sub(blank, FENCE.sub(blank, markdown))


class RepositorySelfContainedTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.files = tracked_files()
        cls.file_set = set(cls.files)
        cls.dir_set = {os.path.dirname(n) for n in cls.files}
        for d in list(cls.dir_set):
            while d:
                d = os.path.dirname(d)
                cls.dir_set.add(d)
        cls.texts = {n: read_text(n) for n in cls.files}
        cls.texts = {n: t for n, t in cls.texts.items() if t is not None and n != THIS_FILE}

    def test_the_file_list_is_the_repository(self):
        for name in ("README.md", "CMakeLists.txt", THIS_FILE):
            self.assertTrue(name in self.file_set, f"{name} not among the {len(self.file_set)} files listed")

    def test_no_file_cites_a_document_outside_the_repository(self):
        found = []
        for name, text in self.texts.items():
            for pattern, what in OUTSIDE_REFERENCES:
                found += [f"{name}:{line_of(text, m.start())}: {what}: {m.group(0)!r}" for m in pattern.finditer(text)]
            for m in PROTOCOL_REFERENCE.finditer(text):
                path = m.group(0)
                if path.endswith("docs/" + os.path.basename(path)) and not path.startswith("../"):
                    continue
                if name.startswith("docs/") and path in (os.path.basename(path), "./" + os.path.basename(path)):
                    continue
                found.append(f"{name}:{line_of(text, m.start())}: a protocol document other than docs/: {path!r}")
        self.assertEqual([], found, "cite docs/ARCHITECTURE.md or docs/PROTOCOL.md, or state the fact")

    def test_every_docs_path_named_anywhere_exists(self):
        missing = []
        for name, text in self.texts.items():
            for m in DOCS_PATH.finditer(text):
                path = m.group(0).rstrip(".")
                if path not in self.file_set and path.rstrip("/") not in self.dir_set:
                    missing.append(f"{name}:{line_of(text, m.start())}: {path}")
        self.assertEqual([], missing)

    def test_every_relative_markdown_link_resolves(self):
        broken = []
        markdown = {n: t for n, t in self.texts.items() if n.endswith(".md")}
        anchors = {}
        for name, text in markdown.items():
            scan = without_code(text)
            targets = [(m.start(), m.group(1)) for m in INLINE_LINK.finditer(scan)]
            targets += [(m.start(), m.group(1)) for m in REFERENCE_DEFINITION.finditer(scan)]
            for offset, target in targets:
                if EXTERNAL.match(target):
                    continue
                where = f"{name}:{line_of(text, offset)}: {target}"
                path, _, fragment = target.partition("#")
                path = urllib.parse.unquote(path.split("?", 1)[0])
                if path.startswith("/"):
                    broken.append(f"{where} (absolute paths do not work in a clone)")
                    continue
                resolved = os.path.normpath(os.path.join(os.path.dirname(name), path)) if path else name
                if resolved.startswith(".."):
                    broken.append(f"{where} (outside the repository)")
                elif resolved not in self.file_set and resolved not in self.dir_set:
                    broken.append(f"{where} (no such file in the repository)")
                elif fragment and resolved.endswith(".md"):
                    if resolved not in anchors:
                        anchors[resolved] = anchors_of(markdown.get(resolved, ""))
                    if fragment.lower() not in anchors[resolved]:
                        broken.append(f"{where} (no heading #{fragment} in {resolved})")
        self.assertEqual([], broken)

    def test_the_link_checker_sees_links(self):
        # Guards the patterns above: a broken link in a sample must be found.
        sample = "see [the design](../elsewhere/x.md) and `[not a link](nowhere)`\n[ref]: ./gone.md\n"
        scan = without_code(sample)
        found = [m.group(1) for m in INLINE_LINK.finditer(scan)] + \
                [m.group(1) for m in REFERENCE_DEFINITION.finditer(scan)]
        self.assertEqual(["../elsewhere/x.md", "./gone.md"], found)
        self.assertEqual({"routing", "a-b-c", "routing-1"}, anchors_of("# Routing\n## a `b` c\n### Routing\n"))


if __name__ == "__main__":
    unittest.main()
