#!/usr/bin/env python3
"""Fails when modules inside one crate import each other in a cycle.

A module's imports are its `crate::…` paths (outside `#[cfg(test)]`),
resolved through the crate root's `pub use` re-exports to the top-level
module that defines them. Run from the repository root:

    python3 tools/check_module_cycles.py

Why a script: rustc accepts such cycles, and no stable tool reports them;
they are what made the engine's runner and Kafka worker hard to change.
"""
import glob
import os
import re
import sys


def module_name(root, path):
    parts = os.path.relpath(path, root)[:-3].split(os.sep)
    if parts[-1] in ("lib", "main", "mod"):
        parts = parts[:-1]
    return "::".join(parts) or "crate"


def crate_cycles(root):
    mods = {module_name(root, f): f for f in glob.glob(root + "/**/*.rs", recursive=True)}
    reexports = {}
    if "crate" in mods:
        text = open(mods["crate"], encoding="utf-8").read()
        for module, names in re.findall(r"pub use ([a-z_]+)::\{?([^;}]*)\}?;", text):
            for name in names.split(","):
                name = name.strip().split(" as ")[-1]
                if name:
                    reexports[name] = module

    def resolve(name):
        return name if name in mods else reexports.get(name)

    graph = {}
    for module, path in mods.items():
        if module == "crate":
            continue
        text = re.split(r"#\[cfg\(test\)\]", open(path, encoding="utf-8").read())[0]
        names = [u.split("::")[0] for u in re.findall(r"\bcrate::([A-Za-z_][A-Za-z0-9_]*)", text)]
        for group in re.findall(r"\bcrate::\{([^}]*)\}", text):
            names += [n.strip().split("::")[0] for n in group.split(",")]
        top = module.split("::")[0]
        deps = {resolve(n).split("::")[0] for n in names if resolve(n)}
        deps.discard(top)
        graph.setdefault(top, set()).update(deps)

    found, state, stack = [], {}, []

    def visit(m):
        state[m] = "open"
        stack.append(m)
        for d in sorted(graph.get(m, ())):
            if state.get(d) == "open":
                found.append(stack[stack.index(d):] + [d])
            elif d not in state:
                visit(d)
        stack.pop()
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m)
    return found


def main():
    cycles = [(root, c) for root in sorted(glob.glob("*/*/src")) for c in crate_cycles(root)]
    for root, c in cycles:
        print(f"module import cycle in {root}: {' -> '.join(c)}", file=sys.stderr)
    if cycles:
        sys.exit(1)
    print("module import cycles: none")


if __name__ == "__main__":
    main()
