#!/usr/bin/env python3
"""Fails when a Rust crate of the workspace has an import circle between its modules.

For every module, its child modules form a graph: A -> B when any file under A names anything
under B through a `crate::`, `super::` or `self::` path (in `use` lines or inline). A circle in
that graph means neither module can be read, tested or moved without the other. A module using
its own parent or children is not a circle (that is what nesting is for), nor is test code
(`tests.rs`, `#[cfg(test)] mod tests`), which may reach anywhere.

Usage: scripts/import_circles.py [crate source dirs...]   (default: every crate of the workspace)
"""

import re
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def modules_of(src: Path) -> dict[tuple[str, ...], Path]:
    files = {}
    for path in src.rglob("*.rs"):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] in ("mod", "lib", "main"):
            parts = parts[:-1]
        if parts and (parts[0] == "main" or parts[-1] == "tests" or parts[0] == "bin"):
            continue
        files[tuple(parts)] = path
    return files


def code_of(path: Path) -> str:
    text = path.read_text()
    cut = text.find("#[cfg(test)]\nmod tests")
    if cut >= 0:
        text = text[:cut]
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)
    return re.sub(r"//.*", "", text)


def use_paths(tree: str, prefix: list[str]) -> list[list[str]]:
    """The paths of one `use` tree, braces expanded."""
    parts, depth, current = [], 0, ""
    for ch in tree:
        depth += ch == "{"
        depth -= ch == "}"
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    out = []
    for part in (p.strip() for p in parts):
        if not part:
            continue
        nested = re.match(r"^([\w:]*?)(?:::)?\{(.*)\}$", part, re.S)
        if nested:
            head = [s for s in nested.group(1).split("::") if s]
            out += use_paths(nested.group(2), prefix + head)
        else:
            out.append(prefix + [s.strip() for s in part.split(" as ")[0].split("::") if s.strip()])
    return out


def display(src: Path) -> str:
    return str(src.relative_to(ROOT)) if src.is_relative_to(ROOT) else str(src)


def circles(src: Path) -> list[str]:
    files = modules_of(src)
    modules = set(files)

    def resolve(path):
        for n in range(len(path), -1, -1):
            if tuple(path[:n]) in modules:
                return tuple(path[:n])
        return ()

    edges = set()
    for module, path in files.items():
        code = code_of(path)
        paths = []
        for m in re.finditer(r"\buse\s+([^;]+);", code):
            paths += use_paths(m.group(1), [])
        paths += [m.group(1).split("::") for m in re.finditer(r"\b((?:crate|super|self)(?:::\w+)+)", code)]
        for segments in paths:
            if not segments:
                continue
            if segments[0] == "crate":
                target = segments[1:]
            elif segments[0] in ("super", "self"):
                base, rest = list(module), segments
                while rest and rest[0] in ("super", "self"):
                    if rest[0] == "super":
                        base = base[:-1]
                    rest = rest[1:]
                target = base + rest
            elif tuple(list(module) + segments[:1]) in modules:
                target = list(module) + segments
            else:
                continue  # another crate
            edges.add((module, resolve(target)))

    found = []
    for parent in sorted(modules):
        depth = len(parent)
        graph = defaultdict(set)
        for a, b in edges:
            if len(a) > depth and len(b) > depth and a[:depth] == parent and b[:depth] == parent:
                if a[: depth + 1] != b[: depth + 1]:
                    graph[a[: depth + 1]].add(b[: depth + 1])
        index, low, stack, on_stack, counter = {}, {}, [], set(), [0]

        def visit(v):
            index[v] = low[v] = counter[0]
            counter[0] += 1
            stack.append(v)
            on_stack.add(v)
            for w in graph[v]:
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
                if len(component) > 1:
                    names = ", ".join(sorted("::".join(c) for c in component))
                    found.append(f"{display(src)}: {names}")

        for v in sorted(graph):
            if v not in index:
                visit(v)
    return found


def main() -> int:
    dirs = [Path(d).resolve() for d in sys.argv[1:]] or sorted(
        p.parent for p in ROOT.glob("*/*/src/lib.rs")
    ) + sorted(p.parent for p in ROOT.glob("*/*/src/main.rs") if not (p.parent / "lib.rs").exists()) + [
        p.parent for p in ROOT.glob("*/src/lib.rs")
    ]
    found = [c for d in dirs for c in circles(d)]
    for line in found:
        print("import circle:", line)
    print(f"{len(dirs)} crates, {len(found)} import circle(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
