#!/usr/bin/python3
"""checkdocs - do the documents cite only what the repository has?

    tests/lib/checkdocs.py ROOT FILE.md...

Called by tests/e2e/docs.sh. For each Markdown file it checks:
  - every relative link [text](path#anchor) names a file or folder that
    exists, and the anchor a heading of that file (GitHub's anchors);
  - every repository path in a code span (`tests/e2e/trust.sh`, `bpf/lib/`,
    `docs/bench-*.png`) exists; paths whose first folder the repository does
    not have (build/, /etc/, ../shared/) and placeholders (`user/cmd_<name>.c`,
    `bpf/X.bpf.c`, `tests/e2e/NAME.sh`) are not checked;
  - no file is cited that the repository lacks under a name people guess:
    DESIGN.md.
It prints one line per problem, "FILE:LINE: what", and exits 1 if there was
any. Python 3 standard library only.
"""
import glob
import os
import re
import sys

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
CODE = re.compile(r"`([^`\n]+)`")
FENCE = re.compile(r"^\s*(```|~~~)")


def anchors(path, cache={}):
    """The anchors GitHub makes for the headings of a Markdown file."""
    if path not in cache:
        seen, out, fenced = {}, set(), False
        with open(path, encoding="utf-8") as f:
            for line in f:
                if FENCE.match(line):
                    fenced = not fenced
                m = None if fenced else re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
                if not m:
                    continue
                text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", m.group(1))
                a = re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")
                n = seen.get(a, 0)
                seen[a] = n + 1
                out.add(a if n == 0 else "%s-%d" % (a, n))
        cache[path] = out
    return cache[path]


def check_link(root, doc, target):
    if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("//"):
        return None  # a URL, not a file of ours
    path, _, frag = target.partition("#")
    full = os.path.normpath(os.path.join(os.path.dirname(doc), path)) if path else doc
    if not full.startswith(os.path.abspath(root)):
        return "link %s leaves the repository" % target
    if not os.path.exists(full):
        return "link %s: no such file" % target
    if frag and full.endswith(".md") and frag not in anchors(full):
        return "link %s: %s has no heading with the anchor #%s" % (target, os.path.relpath(full, root), frag)
    return None


def check_path(root, tops, text):
    m = re.match(r"^((?:[\w.-]+/)*[\w.*-]+/?)(?::\d+)?$", text)
    if not m or "/" not in text or text.startswith(("/", "./", "../")):
        return None
    path = m.group(1)
    if path.split("/")[0] not in tops or re.search(r"[<>]|(^|/)[A-Z][A-Z_]*(\.|/|$)", path):
        return None
    if "*" in path:
        return None if glob.glob(os.path.join(root, path)) else "`%s` matches no file" % path
    return None if os.path.exists(os.path.join(root, path)) else "`%s`: no such file" % path


def main(argv):
    root = os.path.abspath(argv[0])
    tops = {e for e in os.listdir(root) if e not in ("build", ".git")}
    problems = 0
    for doc in argv[1:]:
        doc = os.path.abspath(doc)
        fenced = False
        with open(doc, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if FENCE.match(line):
                    fenced = not fenced
                    continue
                found = []
                if "DESIGN.md" in line:
                    found.append("cites DESIGN.md, which the repository does not have")
                if not fenced:
                    found += [check_link(root, doc, t) for t in LINK.findall(line)]
                    found += [check_path(root, tops, t) for t in CODE.findall(line)]
                for what in filter(None, found):
                    print("%s:%d: %s" % (os.path.relpath(doc, root), n, what))
                    problems += 1
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
