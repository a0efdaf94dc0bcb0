#!/usr/bin/env python3
"""Import cycles between the files of a Rust crate.

    scripts/import-cycles.py redis/src [--no-tests]

Reads every `.rs` file under the source directory, takes each `use` of a
`crate::`, `super::` or `self::` path and each such path written inline in
code (comments and string literals are skipped), resolves it to the file of
the deepest module it names, and prints the files that form cycles (the
strongly connected components of more than one file, or a file that
imports itself). `--no-tests` leaves out `#[cfg(test)]` modules. Exit status
1 when there is a cycle.
"""

import re
import sys
from pathlib import Path


def strip_comments_and_strings(text):
    out, i, n = [], 0, len(text)
    while i < n:
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        elif text[i] == "r" and re.match(r'r#*"', text[i:]) and not (i and (text[i - 1].isalnum() or text[i - 1] == "_")):
            hashes = re.match(r'r(#*)"', text[i:]).group(1)
            end = text.find('"' + hashes, i + 2 + len(hashes))
            out.append('""')
            i = n if end < 0 else end + 1 + len(hashes)
        elif text[i] == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            out.append('""')
            i += 1
        elif text[i] == "'" and re.match(r"'(\\.|[^\\'])'", text[i:]):
            i += len(re.match(r"'(\\.[^']*|[^\\'])'", text[i:]).group(0))
            out.append("' '")
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def strip_test_modules(text):
    while True:
        match = re.search(r"#\[cfg\(test\)\]\s*(pub(\([^)]*\))?\s+)?mod\s+\w+\s*\{", text)
        if not match:
            return text
        depth, i = 1, match.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        text = text[: match.start()] + text[i:]


def expand_use_tree(tree):
    """`a::{b, c::{d, e}}` -> ["a::b", "a::c::d", "a::c::e"]."""
    tree = re.sub(r"\s+", "", tree)
    brace = tree.find("{")
    if brace < 0:
        return [re.sub(r"(::\*|as\w+)$", "", tree.split(" as ")[0])]
    prefix, inner = tree[:brace], tree[brace + 1 : tree.rfind("}")]
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(inner):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            parts.append(inner[start:i])
            start = i + 1
    parts.append(inner[start:])
    return [p for part in parts if part for p in expand_use_tree(prefix + part)]


def module_path(root, file):
    rel = file.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] in ("mod", "lib", "main"):
        parts.pop()
    return parts


def test_modules(text):
    """The `#[cfg(test)]` inline modules: [(name, start, end)] of their bodies."""
    found = []
    for match in re.finditer(r"#\[cfg\(test\)\]\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*\{", text):
        depth, i = 1, match.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        found.append((match.group(1), match.start(), i))
    return found


def use_paths(text):
    """The paths of every `use` (expanded) and those written inline in code."""
    paths = []
    # A `pub use` is the module's interface (a re-export), not a use; it is
    # followed through when another file names the item.
    text = re.sub(r"\bpub(?:\([^)]*\))?\s+use\s+[^;]*;", "", text)
    for use in re.finditer(r"\buse\s+([^;]*);", text):
        paths += expand_use_tree(use.group(1))
    code = re.sub(r"\buse\s+[^;]*;", "", text)
    paths += re.findall(r"\b(?:crate|super|self)(?:::\w+)+", code)
    return paths


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    no_tests = "--no-tests" in sys.argv
    root = Path(args[0] if args else "src")
    files = sorted(root.rglob("*.rs"))
    modules = {tuple(module_path(root, f)): f for f in files}
    texts = {f: strip_comments_and_strings(f.read_text()) for f in files}

    def absolute(base, path):
        """`path` written in module `base` as segments from the crate root, or
        None for a path into another crate."""
        segments = path.split("::")
        if segments[0] == "crate":
            return segments[1:]
        if segments[0] in ("super", "self"):
            current = list(base)
            while segments and segments[0] in ("super", "self"):
                if segments.pop(0) == "super":
                    current.pop()
            return current + segments
        # Edition 2018: `use child::Item` names a child module of `base`.
        if tuple(base + segments[:1]) in modules:
            return list(base) + segments
        return None

    # Re-exports (`pub use child::Item;`), so that `crate::Item` leads to the
    # file that defines it rather than to the module that re-exports it.
    reexports = {}
    for file in files:
        base = module_path(root, file)
        body = strip_test_modules(texts[file])
        for use in re.finditer(r"\bpub(?:\([^)]*\))?\s+use\s+([^;]*);", body):
            for path in expand_use_tree(use.group(1)):
                target = absolute(base, path)
                if target:
                    reexports[(tuple(base), path.split("::")[-1])] = target

    def resolve(segments, seen=()):
        """The file that defines what `segments` (from the crate root) name."""
        current = []
        for i, segment in enumerate(segments):
            if tuple(current + [segment]) in modules:
                current.append(segment)
                continue
            key = (tuple(current), segment)
            if key in reexports and key not in seen:
                return resolve(reexports[key] + segments[i + 1 :], seen + (key,))
            break
        return modules.get(tuple(current))

    edges = {f: set() for f in files}
    for file in files:
        text = texts[file]
        base = module_path(root, file)
        scopes = [(base, strip_test_modules(text))]
        if not no_tests:
            scopes += [(base + [name], text[start:end]) for name, start, end in test_modules(text)]
        for scope, body in scopes:
            for path in use_paths(body):
                segments = absolute(scope, path)
                target = resolve(segments) if segments is not None else None
                # `use super::*` in a file's own test module is no import.
                if target is not None and target != file:
                    edges[file].add(target)
    # Tarjan's strongly connected components.
    index, low, stack, on_stack, components = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            components.append(component)

    sys.setrecursionlimit(10_000)
    for v in files:
        if v not in index:
            visit(v)

    cycles = [sorted(c) for c in components if len(c) > 1]
    name = lambda f: str(f.relative_to(root))
    print(f"{root}: {len(files)} files, {sum(map(len, edges.values()))} imports between files"
          + (" (tests left out)" if no_tests else " (tests included)"))
    for file in files:
        if edges[file]:
            print(f"  {name(file)} -> {', '.join(sorted(map(name, edges[file])))}")
    if not cycles:
        print("no cycle")
        return 0
    for cycle in cycles:
        members = set(cycle)
        print(f"cycle of {len(cycle)} files: {', '.join(map(name, cycle))}")
        for file in cycle:
            inside = sorted(name(t) for t in edges[file] if t in members)
            print(f"    {name(file)} -> {', '.join(inside)}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
