"""After `sam build`: the built layer holds the drmtoken package at python/drmtoken/, and only what the
functions import (directly or through other layer modules). Prints the package's files and sizes.

Usage: python tools/check_layer.py .aws-sam/build/DrmTokenLayer/python
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]


def imported_by_functions() -> set[str]:
    """drmtoken modules the handlers import, and everything those import in turn."""
    graph = grimp.build_graph("drmtoken")
    entries: set[str] = set()
    for app in sorted((ROOT / "functions").glob("*/app.py")):
        for node in ast.walk(ast.parse(app.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("drmtoken"):
                entries.add(node.module)
    reachable = set(entries)
    for module in entries:
        reachable |= {m for m in graph.find_upstream_modules(module) if m.startswith("drmtoken")}
    # A package's __init__ runs whenever one of its modules is imported.
    for module in list(reachable):
        parts = module.split(".")
        reachable |= {".".join(parts[:i]) for i in range(1, len(parts))}
    return reachable


def main(built: Path) -> int:
    package = built / "drmtoken"
    if not package.is_dir():
        print(f"check-layer: no drmtoken package at {package}", file=sys.stderr)
        return 1
    files = sorted(p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    modules = {".".join(p.relative_to(built).with_suffix("").parts).removesuffix(".__init__"): p for p in files}
    needed = imported_by_functions()
    total = 0
    for name, path in modules.items():
        size = path.stat().st_size
        total += size
        print(f"{size:>7}  {path.relative_to(built)}{'' if name in needed else '   <- imported by no function'}")
    print(f"{total:>7}  bytes in {len(files)} files of python/drmtoken/")
    unused = sorted(set(modules) - needed)
    missing = sorted(m for m in needed if m not in modules)
    if unused or missing:
        print(f"check-layer: not imported by any function: {unused}; missing: {missing}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
