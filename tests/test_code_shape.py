"""The shape the package keeps (issue 16): short functions, a thin CLI, short parameter lists in the API, and
option parsing without torch. Each check names what broke it."""

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "zssr_deploy"


def _functions(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


def test_no_function_over_50_lines():
    long = [f"{p.relative_to(PACKAGE)}:{f.lineno} {f.name} ({f.end_lineno - f.lineno + 1} lines)"
            for p in sorted(PACKAGE.rglob("*.py")) for f in _functions(p) if f.end_lineno - f.lineno + 1 > 50]
    assert long == []


def test_thin_cli_and_short_api_parameter_lists():
    long_cli = [p.name for p in (PACKAGE / "cli").glob("*.py") if len(p.read_text().splitlines()) >= 300]
    assert long_cli == []  # each command module stays short (cli.py reached 296 lines before the split)
    wide = []
    for f in _functions(PACKAGE / "api.py"):
        a = f.args
        names = [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs if x.arg not in ("self", "cls")]
        if len(names) + bool(a.vararg) + bool(a.kwarg) > 10:
            wide.append(f.name)
    assert wide == []


def test_the_cli_parses_options_without_torch():
    """Importing the CLI, the API and the fit settings (what ``zssr-deploy run`` and option parsing need)
    loads no torch: the runtime must work where torch is not installed (ruff bans it in runtime/ and
    imageops/; this checks what they import in turn)."""
    code = ("import sys, zssr_deploy.cli, zssr_deploy.api, zssr_deploy.trainers.config, zssr_deploy.runtime, "
            "zssr_deploy.runtime.run, zssr_deploy.blind, zssr_deploy.blind.config, zssr_deploy.batch, zssr_deploy.evaluate; "
            "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.')))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "[]"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every zssr_deploy module that ``path`` imports: at the top, under TYPE_CHECKING or inside a function
    (a lazy import is still an arrow of the design)."""
    me = _module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            target = ".".join([*base, *(node.module.split(".") if node.module else [])])
            names = [f"{target}.{a.name}" for a in node.names]
            found.update(n if _exists(n) else target for n in names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m.split(".")[0] == "zssr_deploy" and _exists(m) and m != me}


def _exists(module: str) -> bool:
    p = PACKAGE.parent.joinpath(*module.split("."))
    return p.with_suffix(".py").is_file() or (p / "__init__.py").is_file()


def test_no_import_cycle_inside_the_package():
    """The dependencies point one way: no module reaches itself through the imports of others (type-only and
    lazy imports included). A package's __init__ counts as the modules it re-exports."""
    graph = {_module_name(p): _imports(p) for p in PACKAGE.rglob("*.py")}
    cycles = []

    def visit(node: str, path: list[str], done: set[str]) -> None:
        for nxt in sorted(graph.get(node, ())):
            if nxt in path:
                cycles.append(" -> ".join(path[path.index(nxt):] + [nxt]))
            elif nxt not in done:
                visit(nxt, [*path, nxt], done)
        done.add(node)

    done: set[str] = set()
    for start in sorted(graph):
        if start not in done:
            visit(start, [start], done)
    assert cycles == []


def test_no_module_over_350_lines_and_api_under_300():
    long = [f"{p.relative_to(PACKAGE)} ({n})" for p in sorted(PACKAGE.rglob("*.py"))
            if (n := len(p.read_text().splitlines())) > 350]
    assert long == []
    assert len((PACKAGE / "api.py").read_text().splitlines()) < 300


def test_no_public_function_or_constructor_takes_more_than_10_parameters():
    """Wide signatures hide their settings: group them in a settings record (Inference, BatchOptions,
    KernelSource) instead."""
    wide = []
    for p in sorted(PACKAGE.rglob("*.py")):
        for f in _functions(p):
            if f.name.startswith("_") and f.name != "__init__":
                continue
            a = f.args
            names = [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs if x.arg not in ("self", "cls")]
            if len(names) + bool(a.vararg) + bool(a.kwarg) > 10:
                wide.append(f"{p.relative_to(PACKAGE)}:{f.lineno} {f.name} ({len(names)})")
    assert wide == []
