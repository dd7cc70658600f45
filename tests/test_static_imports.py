"""The page's module graph (static/**/*.js), read from its import and export statements.

The page is plain ES modules with no bundler, so these rules hold only if a test keeps them: no
import cycle, no view importing another view (a view is a `*-view.js` file: it subscribes to the
store and draws), no DOM access when a lib/ module is imported, no exported name shorter than three
letters, no file longer than 250 lines.
"""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "static"
MAX_LINES = 250
MIN_EXPORT = 3

# import x from "./a.js"; import { a, b } from "../b.js"; import "./c.js"; export { x } from "./d.js"
FROM = re.compile(r"""^\s*(?:import|export)\b[^"';]*?\bfrom\s*["']([^"']+)["']""", re.M | re.S)
BARE = re.compile(r"""^\s*import\s*["']([^"']+)["']""", re.M)
DYNAMIC = re.compile(r"""\bimport\s*\(\s*["']([^"']+)["']\s*\)""")
EXPORTED = re.compile(r"^\s*export\s+(?:async\s+)?(?:function\*?|class|const|let|var)\s+([A-Za-z_$][\w$]*)", re.M)
EXPORT_LIST = re.compile(r"^\s*export\s*\{([^}]*)\}", re.M)


def scripts() -> list[Path]:
    found = sorted(STATIC.rglob("*.js"))
    assert found, "no scripts under static/"
    return found


def imports_of(path: Path) -> list[Path]:
    text = strip_comments(path.read_text(encoding="utf-8"))
    specs = FROM.findall(text) + BARE.findall(text) + DYNAMIC.findall(text)
    out = []
    for spec in specs:
        assert spec.startswith("."), f"{rel(path)} imports {spec!r}: the page has no bundler, only relative imports"
        target = (path.parent / spec).resolve()
        assert target.is_file(), f"{rel(path)} imports {spec!r}, which does not exist"
        out.append(target)
    return out


def strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"(?m)^\s*//.*$", "", text)


def rel(path: Path) -> str:
    return str(path.relative_to(STATIC))


def graph() -> dict[Path, list[Path]]:
    return {path.resolve(): imports_of(path) for path in scripts()}


def find_cycle(edges: dict[Path, list[Path]]) -> list[Path] | None:
    state: dict[Path, str] = {}
    stack: list[Path] = []

    def visit(node: Path) -> list[Path] | None:
        state[node] = "open"
        stack.append(node)
        for target in edges.get(node, []):
            if state.get(target) == "open":
                return stack[stack.index(target):] + [target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in edges:
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_the_parser_sees_every_kind_of_import(tmp_path):
    a = tmp_path / "a.js"
    for name in ("b.js", "c.js", "d.js", "e.js"):
        (tmp_path / name).write_text("")
    a.write_text('import { x,\n  y } from "./b.js";\nimport "./c.js";\nexport { z } from "./d.js";\n'
                 'const m = () => import("./e.js");\n// import "./missing.js"\n')
    assert sorted(p.name for p in imports_of(a)) == ["b.js", "c.js", "d.js", "e.js"]


def test_the_cycle_finder_finds_a_cycle():
    a, b, c = Path("/a.js"), Path("/b.js"), Path("/c.js")
    assert find_cycle({a: [b], b: [c], c: [a]}) == [a, b, c, a]
    assert find_cycle({a: [b], b: [c], c: []}) is None


def test_static_has_no_import_cycle():
    cycle = find_cycle(graph())
    assert cycle is None, "import cycle: " + " -> ".join(rel(p) for p in cycle)


def test_no_view_imports_another_view():
    offenders = [f"{rel(path)} -> {rel(target)}" for path, targets in graph().items() if path.name.endswith("-view.js")
                 for target in targets if target.name.endswith("-view.js")]
    assert offenders == []


def test_lib_and_store_modules_do_not_import_the_page_areas():
    areas = {STATIC / "explorer", STATIC / "cells", STATIC / "render"}
    offenders = [f"{rel(path)} -> {rel(target)}" for path, targets in graph().items()
                 if path.parent.name in ("lib", "store", "api") for target in targets if target.parent in areas]
    assert offenders == []


def test_lib_touches_no_dom_at_import_time():
    """Top-level statements of lib/ may declare, not run: document/window appear only inside functions."""
    for path in sorted((STATIC / "lib").glob("*.js")):
        depth = 0
        for n, line in enumerate(strip_comments(path.read_text(encoding="utf-8")).splitlines(), 1):
            if depth == 0 and re.search(r"\b(document|window)\b", line) and "=>" not in line:
                raise AssertionError(f"lib/{path.name}:{n} touches the DOM at import time: {line.strip()}")
            depth += line.count("{") - line.count("}")


def test_exported_names_have_at_least_three_letters():
    short = []
    for path in scripts():
        text = strip_comments(path.read_text(encoding="utf-8"))
        names = EXPORTED.findall(text)
        for group in EXPORT_LIST.findall(text):
            names += [part.split(" as ")[-1].strip() for part in group.split(",") if part.strip()]
        short += [f"{rel(path)}: {name}" for name in names if len(name.strip("$_")) < MIN_EXPORT]
    assert short == []


def test_no_file_in_static_is_longer_than_250_lines():
    long = [f"{rel(p)}: {n}" for p in sorted(STATIC.rglob("*")) if p.is_file() and p.suffix in (".js", ".css", ".json")
            for n in [len(p.read_text(encoding="utf-8").splitlines())] if n > MAX_LINES]
    assert long == []

