"""The layers of lossconf, bottom to top, and the rule that no module imports a layer above its own.

    core -> specs -> oracle -> adapters -> harness (conformance/, conftest.py) -> reports

Every import counts, a late one inside a function too: it is a dependency all the same. The spec sits below the
oracle because the oracle reads each loss's facts (domains, parameters, reductions, semantics) from it. Files may
not import each other in a cycle either, even within one layer.
"""
from __future__ import annotations

import ast
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("core", "specs", "oracle", "adapters", "conformance", "reports")
LAYER_OF_FILE = {"conftest.py": "conformance"}  # the pytest glue is the harness


def _modules(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every layered package (and the root conftest)."""
    found = {}
    for package in LAYERS:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    for name in LAYER_OF_FILE:
        if (root / name).exists():
            found[Path(name).stem] = root / name
    return found


def _imports(path: Path, name: str, modules: dict[str, Path]) -> list[tuple[int, str]]:
    """(line, dotted module) for each lossconf module that ``path`` imports, at any depth of the file."""
    out = []
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                package = name.split(".") if is_package else name.split(".")[:-1]
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            # "from pkg import sub" imports the submodule pkg.sub when there is one
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target:
                out.append((node.lineno, target))
    return out


def _layer(module: str) -> str:
    return LAYER_OF_FILE.get(f"{module}.py", module.split(".")[0])


def upward_imports(root: Path) -> list[str]:
    """One line per import of a layer above the importing module's own."""
    modules = _modules(root)
    problems = []
    for name, path in modules.items():
        own = LAYERS.index(_layer(name))
        for line, target in _imports(path, name, modules):
            if LAYERS.index(_layer(target)) > own:
                problems.append(f"{path.relative_to(root)}:{line}: {_layer(name)} imports {target} ({_layer(target)}, a layer above)")
    return problems


def import_cycles(root: Path) -> list[list[str]]:
    """The strongly connected groups of two or more files that import each other (Tarjan)."""
    modules = _modules(root)
    graph = {n: sorted({t for _, t in _imports(p, n, modules) if t != n}) for n, p in modules.items()}
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in graph:
        if v not in index:
            visit(v)
    return groups


def test_no_module_imports_a_layer_above_its_own():
    assert upward_imports(ROOT) == []


def test_no_files_import_each_other_in_a_cycle():
    assert import_cycles(ROOT) == []


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    for package in LAYERS:
        (tmp_path / package).mkdir(exist_ok=True)
        (tmp_path / package / "__init__.py").touch()
    return tmp_path


def test_an_upward_import_is_reported_even_inside_a_function(tmp_path):
    root = _tree(tmp_path, {
        "core/case.py": "import numpy\n",
        "oracle/formula.py": "from core import case\n\ndef late():\n    from conformance import judge\n",
        "conformance/judge.py": "from oracle import formula\nimport reports.html\n",
        "reports/html.py": "from core.case import Case\n",
    })
    assert upward_imports(root) == [
        "oracle/formula.py:4: oracle imports conformance.judge (conformance, a layer above)",
        "conformance/judge.py:2: conformance imports reports.html (reports, a layer above)",
    ]


def test_a_cycle_between_files_is_reported(tmp_path):
    root = _tree(tmp_path, {
        "adapters/keras.py": "def f():\n    from adapters.tf import helper\n",
        "adapters/tf.py": "from adapters.keras import f\nfrom . import other\n",
        "adapters/other.py": "from .tf import helper\n",
        "core/case.py": "",
    })
    assert import_cycles(root) == [["adapters.keras", "adapters.other", "adapters.tf"]]
