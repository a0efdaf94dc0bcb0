#!/usr/bin/env python3
"""List the module dependencies between the files of a crate's src/ and report import cycles.

Why this script rather than `cargo modules`: the issue asks for an import-graph
check, and no such tool is installed here (nor reachable offline); this reads
the sources only, needs nothing beyond Python 3, and so can run in CI.

An edge A -> B means code in file A names an item of file B through a path:
`use crate::…`, `use super::…`, `use self::…`, a child module's name, or the
same paths written inline (`crate::verify::now_secs()`), `$crate::…` in
macros included. Re-exports are followed: naming `crate::Session` is an edge
to the file that defines `Session`, not to lib.rs, since lib.rs only re-exports
it. A re-export (`pub use`, `pub(crate) use`) is such a path, not a use: it
is followed, and makes an edge only when the file also names the re-exported
item in its own code, so a `mod.rs` that only re-exports its children's
items is not in a cycle with them (`--reexports-as-edges` counts every
re-export, for the strict view). `mod x;` declarations are ownership,
not use, and make no edge.

A strongly connected component of more than one file is a cycle. The exit
status is 1 when there is one, so the script can guard against new cycles.

Usage: scripts/import-cycles.py [--edges] [--exclude-tests] [--reexports-as-edges] SRC_DIR...
"""

import os
import re
import sys

TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<line_comment>//[^\n]*)
  | (?P<block_comment>/\*)
  | (?P<raw_string>b?r(?P<hashes>\#*)")
  | (?P<string>b?"(?:\\.|[^"\\])*")
  | (?P<char>b?'(?:\\.|[^\\'])')
  | (?P<lifetime>'[A-Za-z_][A-Za-z0-9_]*)
  | (?P<ident>\$?[A-Za-z_][A-Za-z0-9_]*|r\#[A-Za-z_][A-Za-z0-9_]*)
  | (?P<path_sep>::)
  | (?P<punct>.)
    """,
    re.VERBOSE | re.DOTALL,
)


def tokenize(text):
    """Identifiers and punctuation, with comments, strings and chars dropped."""
    tokens = []
    position = 0
    while position < len(text):
        match = TOKEN.match(text, position)
        kind = match.lastgroup
        if kind == "hashes":
            kind = "raw_string"
        if kind == "block_comment":
            depth, cursor = 1, match.end()
            while depth and cursor < len(text):
                if text.startswith("/*", cursor):
                    depth, cursor = depth + 1, cursor + 2
                elif text.startswith("*/", cursor):
                    depth, cursor = depth - 1, cursor + 2
                else:
                    cursor += 1
            position = cursor
            continue
        if kind == "raw_string":
            closing = '"' + match.group("hashes")
            end = text.find(closing, match.end())
            position = len(text) if end < 0 else end + len(closing)
            continue
        position = match.end()
        if kind in ("ident", "path_sep", "punct"):
            value = match.group()
            if value.startswith("r#"):
                value = value[2:]
            tokens.append(value)
    return tokens


def module_of(src, file):
    """The module path of a file: lib.rs is (), a/mod.rs and a.rs are ("a",)."""
    parts = os.path.relpath(file, src)[: -len(".rs")].split(os.sep)
    if parts[-1] in ("lib", "main", "mod"):
        parts = parts[:-1]
    return tuple(parts)


def parse_use_tree(tokens, index):
    """Expand a use tree at tokens[index:] into (path, alias) pairs; returns (pairs, next index)."""
    prefix = []
    while index < len(tokens):
        token = tokens[index]
        if token == "{":
            pairs = []
            index += 1
            while tokens[index] != "}":
                inner, index = parse_use_tree(tokens, index)
                pairs += [(prefix + path, alias) for path, alias in inner]
                if tokens[index] == ",":
                    index += 1
            return pairs, index + 1
        if token == "*":
            return [(prefix + ["*"], None)], index + 1
        if token == "::":
            index += 1
            continue
        if re.match(r"\$?[A-Za-z_]", token):
            prefix.append(token)
            index += 1
            if index < len(tokens) and tokens[index] == "as":
                return [(prefix, tokens[index + 1])], index + 2
            if index < len(tokens) and tokens[index] == "::":
                continue
            return [(prefix, None)], index
        return [(prefix, None)], index
    return [(prefix, None)], index


class File:
    def __init__(self, path, module):
        self.path = path
        self.module = module
        self.imports = {}  # top-level `use` names: name -> absolute path
        self.references = []  # (scope module, path segments, is a re-export)
        self.names = {}  # identifier -> occurrences outside `use` items


def scan(file, tokens, exclude_tests):
    """Collect the paths a file names, and its top-level imports (to follow re-exports)."""
    for token in tokens:
        file.names[token] = file.names.get(token, 0) + 1
    # A stack of (module path, brace depth at which it closes, is test code).
    scopes = [(file.module, None, False)]
    depth = 0
    pending_test = False
    index = 0
    while index < len(tokens):
        token = tokens[index]
        scope, _, in_test = scopes[-1]
        if token == "#" and tokens[index + 1 : index + 6] == ["[", "cfg", "(", "test", ")"]:
            pending_test = True
            index += 6
            continue
        if token == "{":
            depth += 1
        elif token == "}":
            depth -= 1
            if scopes[-1][1] == depth:
                scopes.pop()
        elif token == "mod" and index + 2 < len(tokens) and tokens[index + 2] == "{":
            scopes.append((scope + (tokens[index + 1],), depth, in_test or pending_test))
            pending_test = False
            depth += 1
            index += 3
            continue
        elif token == "use":
            reexport = index > 0 and (tokens[index - 1] == "pub" or tokens[index - 4 : index - 1] == ["pub", "(", "crate"])
            pairs, end = parse_use_tree(tokens, index + 1)
            for token in tokens[index:end]:
                file.names[token] = file.names.get(token, 0) - 1
            skip = exclude_tests and (in_test or pending_test)
            at_top = len(scopes) == 1 and depth == 0
            for path, alias in pairs:
                if not skip:
                    file.references.append((scope, path, reexport))
                if at_top and path[-1] not in ("*", "self"):
                    file.imports[alias or path[-1]] = (scope, path)
                elif at_top and path[-1] == "self":
                    file.imports[alias or path[-2]] = (scope, path[:-1])
            pending_test = False
            index = end
            continue
        elif token in ("crate", "$crate", "super", "self") and index + 1 < len(tokens) and tokens[index + 1] == "::":
            if index > 0 and tokens[index - 1] == "::":
                index += 1
                continue
            path = []
            while index < len(tokens) and re.match(r"\$?[A-Za-z_]", tokens[index]):
                path.append(tokens[index])
                if index + 1 < len(tokens) and tokens[index + 1] == "::":
                    index += 2
                else:
                    index += 1
                    break
            if not (exclude_tests and in_test):
                file.references.append((scope, path, False))
            continue
        elif token == ";" or token == "}":
            pending_test = False
        index += 1


def absolute(scope, path, files):
    """Turn a path written in module `scope` into an absolute path, or None if external."""
    head = path[0]
    if head in ("crate", "$crate"):
        return list(path[1:])
    if head in ("super", "self"):
        current = list(scope)
        rest = list(path)
        while rest and rest[0] in ("super", "self"):
            if rest[0] == "super":
                current = current[:-1]
            rest = rest[1:]
        return current + rest
    # A uniform path starting with a child module of this scope (e.g. `claims::…` in lib.rs).
    if tuple(scope) + (head,) in files:
        return list(scope) + list(path)
    return None


def resolve(path, files, seen=None):
    """The file that defines what an absolute path names, following imports and re-exports."""
    seen = seen or set()
    for length in range(len(path), -1, -1):
        module = tuple(path[:length])
        if module not in files:
            continue
        file = files[module]
        if length < len(path):
            name = path[length]
            key = (module, name)
            if name in file.imports and key not in seen:
                seen.add(key)
                scope, target = file.imports[name]
                target = absolute(scope, target, files)
                if target is not None:
                    return resolve(target + list(path[length + 1 :]), files, seen)
        return file
    return None


def graph(src, exclude_tests, reexports_as_edges):
    files = {}
    for root, _, names in os.walk(src):
        for name in sorted(names):
            if name.endswith(".rs"):
                path = os.path.join(root, name)
                files[module_of(src, path)] = File(os.path.relpath(path, src), module_of(src, path))
    for file in files.values():
        with open(os.path.join(src, file.path), encoding="utf-8") as handle:
            scan(file, tokenize(handle.read()), exclude_tests)
    edges = {file.path: {} for file in files.values()}
    for file in files.values():
        for scope, path, reexport in file.references:
            if path[-1] == "self":
                path = path[:-1]
            if reexport and not reexports_as_edges and file.names.get(path[-1], 0) <= 0:
                continue
            target = absolute(scope, path, files)
            if target is None:
                continue
            target = [segment for segment in target if segment != "*"]
            defining = resolve(target, files)
            if defining is not None and defining is not file:
                edges[file.path].setdefault(defining.path, set()).add("::".join(path))
    return edges


def strongly_connected(edges):
    """Tarjan's algorithm; components in a stable order."""
    index, low, on_stack, stack, components = {}, {}, set(), [], []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            components.append(sorted(component))

    sys.setrecursionlimit(10000)
    for node in sorted(edges):
        if node not in index:
            visit(node)
    return components


def main(arguments):
    show_edges = "--edges" in arguments
    exclude_tests = "--exclude-tests" in arguments
    reexports_as_edges = "--reexports-as-edges" in arguments
    sources = [argument for argument in arguments if not argument.startswith("--")]
    if not sources:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    found = False
    for src in sources:
        edges = graph(src, exclude_tests, reexports_as_edges)
        cycles = [component for component in strongly_connected(edges) if len(component) > 1]
        print(f"{src}: {len(edges)} files, {sum(len(targets) for targets in edges.values())} edges, {len(cycles)} cycle(s)")
        if show_edges:
            for source in sorted(edges):
                for target in sorted(edges[source]):
                    print(f"  {source} -> {target}  ({', '.join(sorted(edges[source][target]))})")
        for component in cycles:
            found = True
            members = set(component)
            print(f"  cycle of {len(component)} files: {', '.join(component)}")
            for source in component:
                for target in sorted(edges[source]):
                    if target in members:
                        print(f"    {source} -> {target}  ({', '.join(sorted(edges[source][target]))})")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
