#!/usr/bin/python3
"""gen-reference - the generated parts of docs/reference.md.

    scripts/gen-reference.py [--check] [--root DIR] [DOC]

Called by `make docs` (rewrite) and by tests/e2e/docs.sh (--check). It reads
the contract, headers/cloudsteer.h (its reason X-macros, enums, structs and
numeric #defines), and every map definition under bpf/: each
`struct { ... } NAME SEC(".maps");` in any .h or .bpf.c file below bpf/,
with the comment above it, which says who writes the map and who reads it.
It then rewrites each block of DOC (default docs/reference.md) that lies
between `<!-- begin generated: PART -->` and `<!-- end generated: PART -->`;
text outside the blocks is left as it is. With --check it writes nothing
and exits 1, with a diff, when DOC is not what it would write.
Python 3 standard library only.
"""
import argparse
import difflib
import os
import re
import sys

HEADER = "headers/cloudsteer.h"

MAP_TYPES = {  # BPF_MAP_TYPE_X -> how the docs name it
    "HASH": "hash", "LRU_HASH": "LRU hash", "ARRAY": "array", "PERCPU_ARRAY": "per-CPU array",
    "PERCPU_HASH": "per-CPU hash", "LRU_PERCPU_HASH": "per-CPU LRU hash", "LPM_TRIE": "LPM trie",
    "QUEUE": "queue", "STACK": "stack", "RINGBUF": "ring buffer", "ARRAY_OF_MAPS": "array of maps",
    "HASH_OF_MAPS": "hash of maps",
}


def die(msg):
    print("gen-reference: " + msg, file=sys.stderr)
    sys.exit(2)


def strip_comment(text):
    """The words of a /* ... */ comment, one paragraph, no leading stars."""
    text = re.sub(r"^/\*+|\*+/$", "", text.strip())
    lines = [re.sub(r"^\s*\*?\s?", "", ln).strip() for ln in text.splitlines()]
    return re.sub(r"^-+\s*|\s*-+$", "", " ".join(ln for ln in lines if ln))  # "---- banner ----"


def cell(text):
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|")


def anchor(title):
    """GitHub's anchor of a heading: lower case, punctuation but - and _ gone."""
    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")


# ---- the contract header ----

def logical_lines(src):
    """Source lines with backslash continuations joined."""
    return src.replace("\\\n", " ").splitlines()


def defines(src):
    """{NAME: value} of the object-like numeric #defines, and {NAME: comment}."""
    raw, notes = {}, {}
    for m in re.finditer(r"^[ \t]*#define[ \t]+(CS_\w+)[ \t]+([^\n/\\]*?)[ \t]*"
                         r"(/\*(?:[^*]|\*(?!/))*\*/)?[ \t]*$", src, re.M):
        raw[m.group(1)] = m.group(2)
        if m.group(3):
            notes[m.group(1)] = strip_comment(m.group(3))
    values = {}

    def value(name, depth=0):
        if name in values or depth > 20:
            return values.get(name)
        expr = raw[name]
        expr = re.sub(r"\b(CS_\w+)\b", lambda m: str(value(m.group(1), depth + 1))
                      if m.group(1) in raw else m.group(0), expr)
        expr = re.sub(r"(?<=[0-9a-fA-F])[uUlL]+\b", "", expr)
        if re.fullmatch(r"[0-9a-fA-Fx()+\-*/<>| ]+", expr):
            try:
                values[name] = int(eval(expr.replace("/", "//"), {"__builtins__": {}}))
            except (SyntaxError, ValueError, ZeroDivisionError):
                pass
        return values.get(name)

    for name in raw:
        value(name)
    return values, notes, raw


def xmacro(src, name):
    """[(SYMBOL, "name", "help")] of the X-macro list NAME(X)."""
    for ln in logical_lines(src):
        if re.match(r"\s*#define\s+%s\(X\)" % name, ln):
            return re.findall(r'X\(\s*(\w+)\s*,\s*"([^"]*)"\s*,\s*"([^"]*)"\s*\)', ln)
    die("%s: no X-macro %s(X)" % (HEADER, name))


def blocks(src, kind):
    """{name: (comment above, body)} of every `kind name { ... };` at file level."""
    out = {}
    for m in re.finditer(r"(?:(/\*(?:[^*]|\*(?!/))*\*/)[ \t]*\n)?^%s (\w+) \{(.*?)\};" % kind, src,
                         re.S | re.M):
        out[m.group(2)] = (strip_comment(m.group(1)) if m.group(1) else "", m.group(3))
    return out


def members(body):
    """[(declaration, comment)] of a struct or enum body. A comment on the line of a
    declaration (after it) belongs to it; a comment on lines of its own, to the next."""
    out, pending = [], ""
    for m in re.finditer(r"/\*(?:[^*]|\*(?!/))*\*/|[^;,/]+[;,]?", body):
        tok = m.group(0)
        if tok.startswith("/*"):
            if out and not out[-1][1] and "\n" not in body[out[-1][2]:m.start()]:
                out[-1] = (out[-1][0], strip_comment(tok), out[-1][2])
            else:
                pending = strip_comment(tok)
            continue
        decl = " ".join(tok.rstrip(";,").split())
        if decl:
            out.append((decl, pending, m.end()))
            pending = ""
    return [(d, c) for d, c, _ in out]


def enum_values(body, lists, values):
    """[(CONSTANT, number, comment)] of an enum body; X-macro lists expanded."""
    out, n = [], -1
    for decl, note in members(body):
        while True:  # X-macro lists, expanded in place
            m = re.match(r"(\w+)\((\w+)\)\s*", decl)
            if not m:
                break
            for sym, _, _ in lists.get(m.group(1), []):
                n += 1
                out.append((sym, n, ""))
            decl = decl[m.end():]
        if not decl:
            continue
        name, _, expr = decl.partition("=")
        name = name.strip()
        if expr.strip():
            expr = re.sub(r"\b(CS_\w+)\b", lambda mm: str(values.get(mm.group(1), mm.group(1))), expr)
            n = int(eval(expr, {"__builtins__": {}}))
        else:
            n += 1
        out.append((name, n, note))
    return out


# ---- the maps under bpf/ ----

def map_files(root):
    found = []
    for d, _, files in os.walk(os.path.join(root, "bpf")):
        for f in files:
            if f.endswith(".h") or f.endswith(".bpf.c"):
                found.append(os.path.relpath(os.path.join(d, f), root))
    return sorted(found)


def maps(root):
    out = {}
    for path in map_files(root):
        with open(os.path.join(root, path)) as f:
            src = f.read()
        for m in re.finditer(r"(/\*(?:[^*]|\*(?!/))*\*/)?\s*^struct \{(.*?)^\} (\w+) SEC\(\"\.maps\"\);",
                             src, re.S | re.M):
            name, body = m.group(3), m.group(2)
            if re.search(r"^\}", body, re.M):
                die("%s: a struct { } that is not a map comes before map %s" % (path, name))
            if name in out:
                die("map %s is defined in %s and in %s" % (name, out[name]["file"], path))
            if not m.group(1):
                die("%s: map %s has no comment saying who writes and who reads it" % (path, name))
            attr = dict(re.findall(r"__uint\((\w+),\s*(.*?)\);", body))
            attr.update(re.findall(r"__type\((\w+),\s*(.*?)\);", body))
            inner = re.search(r"__array\(values,\s*(.*?)\);", body)
            out[name] = {"file": path, "comment": strip_comment(m.group(1)), "attr": attr,
                         "inner": inner.group(1) if inner else None}
    if not out:
        die("no map definitions under bpf/")
    return out


# ---- the Markdown ----

def typename(t, structs):
    t = " ".join(t.split())
    m = re.fullmatch(r"struct (\w+)", t)
    if m and m.group(1) in structs:
        return "[`%s`](#%s)" % (t, anchor("struct " + m.group(1)))
    return "`%s`" % t


def size_text(expr, v):
    expr = expr.strip()
    if re.fullmatch(r"\d+", expr):
        return expr
    num = v.get(expr)
    if num is None:
        try:
            num = int(eval(re.sub(r"\b(CS_\w+)\b", lambda m: str(v[m.group(1)]), expr),
                           {"__builtins__": {}}))
        except (KeyError, SyntaxError, NameError):
            return "`%s`" % expr
    return "`%s` (%d)" % (expr, num)


def gen_maps(mp, structs, sizes):
    rows = ["| map | type | key | value | max entries | defined in |", "|---|---|---|---|---|---|"]
    sections = []
    for name in sorted(mp):
        m = mp[name]
        a = m["attr"]
        kind = a.get("type", "?").replace("BPF_MAP_TYPE_", "")
        kind = MAP_TYPES.get(kind, kind.lower().replace("_", " "))
        key = typename(a["key"], structs) if "key" in a else "-"
        if m["inner"]:
            value = "a map: `%s`" % m["inner"].strip()
        elif "value" in a:
            value = typename(a["value"], structs)
        else:
            value = "-"
        size = size_text(a.get("max_entries", "?"), sizes)
        if kind == "ring buffer":
            size += " bytes"
        flags = a.get("map_flags", "")
        rows.append("| [`%s`](#%s) | %s | %s | %s | %s | `%s` |" % (
            name, anchor(name), kind, key, value, size, m["file"]))
        sections += ["### %s" % name, "", m["comment"], ""]
        if flags:
            sections += ["Flags: `%s`." % flags, ""]
    return rows + [""] + sections


def gen_reasons(entries, numbers, values, what="reason"):
    rows = ["| # | %s | meaning |" % what, "|---:|---|---|"]
    for sym, name, help_text in entries:
        help_text = re.sub(r"\b(CS_\w+)\b", lambda m: "%s (%s)" % (m.group(1), values[m.group(1)])
                           if m.group(1) in values else m.group(1), help_text)
        rows.append("| %s | `%s` | %s |" % (numbers.get(sym, "?"), name, cell(help_text)))
    return rows


def gen_structs(structs):
    out = []
    for name in sorted(structs):
        comment, body = structs[name]
        out += ["### struct %s" % name, ""]
        if comment:
            out += [comment, ""]
        out += ["| field | meaning |", "|---|---|"]
        for decl, note in members(body):
            if re.search(r"\b_pad\w*", decl):
                continue
            out.append("| `%s` | %s |" % (cell(decl), cell(note)))
        out.append("")
    return out


def gen_enums(enums, lists, values):
    out = []
    for name in sorted(enums):
        comment, body = enums[name]
        if re.search(r"\w+\(\w+\)", body):
            continue  # the reason enums: their tables are above
        out += ["### enum %s" % name, ""]
        if comment:
            out += [comment, ""]
        out += ["| constant | value | meaning |", "|---|---:|---|"]
        for const, n, note in enum_values(body, lists, values):
            out.append("| `%s` | %d | %s |" % (const, n, cell(note)))
        out.append("")
    return out


def gen_constants(values, notes, raw):
    out = ["| name | value | meaning |", "|---|---:|---|"]
    for name in raw:
        if name in values and not name.endswith("_H"):
            out.append("| `%s` | %s | %s |" % (name, "0x%x" % values[name] if raw[name].startswith("0x")
                                               else values[name], cell(notes.get(name, ""))))
    return out


def generate(root):
    with open(os.path.join(root, HEADER)) as f:
        src = f.read()
    values, notes, raw = defines(src)
    structs = blocks(src, "struct")
    enums = blocks(src, "enum")
    lists = {n: xmacro(src, n) for n in ("CS_PACKET_REASONS", "CS_RECORD_REASONS", "CS_INSTANCE_REASONS",
                                         "CS_NSH_REASONS", "CS_STEER_COUNTERS")}
    numbers = {}  # enum -> {constant: value}; the reasons' by their X-macro symbol
    for ename in enums:
        numbers[ename] = {sym: n for sym, n, _ in enum_values(enums[ename][1], lists, values)}
    for ename in ("cs_reason", "cs_inst_reason", "cs_nsh_reason", "cs_steer_counter"):
        if ename not in numbers:
            die("%s: no enum %s" % (HEADER, ename))
    sizes = dict(values)  # a map may be sized by an enum constant (CS_R_MAX)
    for consts in numbers.values():
        sizes.update((k, v) for k, v in consts.items() if k.startswith("CS_"))
    return {
        "packet-reasons": gen_reasons(lists["CS_PACKET_REASONS"], numbers["cs_reason"], values),
        "record-reasons": gen_reasons(lists["CS_RECORD_REASONS"], numbers["cs_reason"], values),
        "instance-reasons": gen_reasons(lists["CS_INSTANCE_REASONS"], numbers["cs_inst_reason"], values),
        "nsh-reasons": gen_reasons(lists["CS_NSH_REASONS"], numbers["cs_nsh_reason"], values),
        "steer-counters": gen_reasons(lists["CS_STEER_COUNTERS"], numbers["cs_steer_counter"], values,
                                      "counter"),
        "maps": gen_maps(maps(root), structs, sizes),
        "structs": gen_structs(structs),
        "enums": gen_enums(enums, lists, values),
        "constants": gen_constants(values, notes, raw),
    }


def rewrite(doc, parts):
    """DOC with every generated block replaced; an unknown or missing part is an error."""
    seen = set()

    def fill(m):
        part = m.group(2)
        if part not in parts:
            die("unknown generated part %r (known: %s)" % (part, ", ".join(sorted(parts))))
        seen.add(part)
        return m.group(1) + "\n" + "\n".join(parts[part]).rstrip("\n") + "\n" + m.group(3)

    out = re.sub(r"(<!-- begin generated: ([\w-]+) [^>]*-->)\n.*?(<!-- end generated: \2 -->)", fill, doc,
                 flags=re.S)
    missing = sorted(set(parts) - seen)
    if missing:
        die("no generated block for: " + ", ".join(missing))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("doc", nargs="?", help="the document (default docs/reference.md)")
    ap.add_argument("--root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."),
                    help="the repository (default: this script's)")
    ap.add_argument("--check", action="store_true", help="write nothing; exit 1 if DOC is stale")
    a = ap.parse_args()
    path = a.doc or os.path.join(a.root, "docs", "reference.md")
    try:
        with open(path) as f:
            old = f.read()
        new = rewrite(old, generate(a.root))
    except OSError as e:
        die("%s: %s" % (e.filename, e.strerror))
    if a.check:
        if new != old:
            sys.stdout.writelines(difflib.unified_diff(old.splitlines(True), new.splitlines(True),
                                                       path, path + " (generated now)", n=1))
            return 1
        return 0
    if new != old:
        with open(path + ".tmp", "w") as f:
            f.write(new)
        os.replace(path + ".tmp", path)
        print("gen-reference: rewrote " + path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
