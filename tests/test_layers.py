"""The layers talk one way (wire -> dispatch -> API -> store / host agent -> Xen adapter ->
xenlight_py): no module of a lower layer imports a higher one at run time. Imports under
`if TYPE_CHECKING:` are annotations only and allowed."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "xenapi_impl"

#: package -> the xenapi_impl packages it must never import at run time
FORBIDDEN = {
    "api": {"server", "wire", "cli", "xe"},
    "xen": {"api", "server", "wire", "cli", "xe"},
    "store": {"api", "server", "wire", "xen", "cli", "xe"},
    "storage": {"api", "server", "wire", "xen", "cli", "xe"},
    "hostnet": {"api", "server", "wire", "xen", "cli", "xe"},
    "model": {"api", "server", "wire", "xen", "store", "cli", "xe"},
    "wire": {"api", "server", "xen", "store", "cli", "xe"},
}


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for sub in node.body:
                for n in ast.walk(sub):
                    if hasattr(n, "lineno"):
                        lines.add(n.lineno)
    return lines


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, top-level xenapi_impl package) of each run-time import in the module."""
    tree = ast.parse(path.read_text(), str(path))
    skip = _type_checking_lines(tree)
    here = path.relative_to(PKG.parent).with_suffix("").parts[:-1]
    out = []
    for node in ast.walk(tree):
        if node.lineno in skip if hasattr(node, "lineno") else True:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(here[:len(here) - node.level + 1])
                target = base + (node.module.split(".") if node.module else [])
                names = [target + [a.name] for a in node.names] if not node.module else [target]
            else:
                names = [node.module.split(".")] if node.module else []
        elif isinstance(node, ast.Import):
            names = [a.name.split(".") for a in node.names]
        else:
            continue
        for t in names:
            if len(t) >= 2 and t[0] == "xenapi_impl":
                out.append((node.lineno, t[1]))
    return out


MODULES = sorted(p for p in PKG.rglob("*.py")
                 if p.relative_to(PKG).parts[0] in FORBIDDEN)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PKG)))
def test_no_upward_import(path: Path) -> None:
    layer = path.relative_to(PKG).parts[0]
    bad = [f"line {line}: imports xenapi_impl.{pkg}" for line, pkg in _imports(path)
           if pkg in FORBIDDEN[layer]]
    assert not bad, f"{path.relative_to(PKG)} reaches up: {bad}"


def test_the_check_sees_imports() -> None:
    # the walker resolves relative imports: api/vm.py imports the store below it
    assert ("store" in {pkg for _, pkg in _imports(PKG / "api" / "vm.py")})
