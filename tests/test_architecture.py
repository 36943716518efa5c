"""The package's boundaries, read from its source with ast: no import cycle, no private name used
outside its own package, only the owners of a concept call the C++ core, layers import downwards."""
import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1] / "python"

#: the only modules that call sagpr._core: each owns the concept it calls it for
CORE_OWNERS = {
    "sagpr.descriptors",  # lambda-SOAP
    "sagpr.lode",  # LODE expansion and multi-scale features
    "sagpr.neighbors",  # neighbour lists
    "sagpr.reference",  # point-charge Ewald EFGs
    "sagpr.parallel",  # OpenMP threads
    "sagpr.models.gpr",  # kernels, FPS, prediction
    "sagpr.models.solver",  # the Cholesky solves
}

#: package -> packages it must never import (data flows io -> descriptors -> models -> NMR ->
#: workflows -> CLI; the library never imports its command line)
FORBIDDEN = {
    "sagpr.models": ("sagpr.workflows", "sagpr.commands", "sagpr.plots", "sagpr.cli"),
    "sagpr.workflows": ("sagpr.commands", "sagpr.cli"),
    "sagpr.plots": ("sagpr.commands", "sagpr.cli", "sagpr.workflows"),
    "sagpr.datasets": ("sagpr.models", "sagpr.workflows", "sagpr.commands", "sagpr.cli"),
    "sagpr.dynamics": ("sagpr.models", "sagpr.workflows", "sagpr.commands", "sagpr.plots", "sagpr.cli"),
}


def _modules():
    out = {}
    for path in sorted((ROOT / "sagpr").rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        out[".".join(parts)] = (path, is_package)
    return out


MODULES = _modules()


def _imports(module):
    """(line, imported module, imported name or None) of every sagpr import of `module`, including
    those inside functions (a lazy import still ties the two modules together)."""
    path, is_package = MODULES[module]
    package = module if is_package else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "sagpr":
                continue
            for alias in node.names:
                full = f"{target}.{alias.name}"
                found.append((node.lineno, full if full in MODULES else target, None if full in MODULES else alias.name))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "sagpr":
                    found.append((node.lineno, alias.name, None))
    return found


def _resolve(target):
    """The module a dotted import lands in (a compiled module such as sagpr._core stays as is)."""
    while target not in MODULES and "." in target:
        target = target.rpartition(".")[0]
    return target


def _package_of(module):
    return module if MODULES.get(module, (None, False))[1] else module.rpartition(".")[0]


def _graph():
    graph = {}
    for module in MODULES:
        edges = set()
        for _, target, _ in _imports(module):
            target = _resolve(target)
            # importing a package's submodule runs the package's __init__ first, but that is the
            # package's business: an edge to the submodule is what ties the two together
            if target != module and target in MODULES and not MODULES[target][1]:
                edges.add(target)
        graph[module] = edges
    return graph


def _cycle(graph):
    """One import cycle as a list of modules, or None."""
    state = {}
    stack = []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycle_inside_sagpr():
    cycle = _cycle(_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def _private_violations():
    bad = []
    for module in MODULES:
        package = _package_of(module)
        for line, target, name in _imports(module):
            chain = target.split(".") + ([name] if name else [])
            for i, part in enumerate(chain):
                if part.startswith("_") and not part.startswith("__"):
                    owner = ".".join(chain[:i])  # the package (or module) whose private name this is
                    if owner in MODULES and not MODULES[owner][1]:
                        owner = owner.rpartition(".")[0]  # a module's _name is private to its package
                    if owner != package:
                        bad.append(f"{module}:{line} imports {'.'.join(chain)}")
                    break
    return bad


def test_no_private_name_imported_from_another_package():
    bad = [b for b in _private_violations() if not b.endswith("sagpr._core")]
    assert not bad, "\n".join(bad)


def test_only_owners_call_the_core():
    callers = set()
    for module in MODULES:
        for _, target, name in _imports(module):
            if target == "sagpr._core" or (target == "sagpr" and name == "_core"):
                callers.add(module)
    assert callers <= CORE_OWNERS, f"modules calling sagpr._core without owning the concept: {sorted(callers - CORE_OWNERS)}"


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layers_import_downwards(package):
    bad = []
    for module in MODULES:
        if module != package and not module.startswith(package + "."):
            continue
        for line, target, _ in _imports(module):
            if any(target == f or target.startswith(f + ".") for f in FORBIDDEN[package]):
                bad.append(f"{module}:{line} imports {target}")
    assert not bad, "\n".join(bad)


def test_commands_never_import_each_other():
    bad = []
    for module in MODULES:
        if not module.startswith("sagpr.commands.") or module.rpartition(".")[2].startswith("_"):
            continue
        for line, target, _ in _imports(module):
            target = _resolve(target)
            if target.startswith("sagpr.commands.") and not target.rpartition(".")[2].startswith("_"):
                bad.append(f"{module}:{line} imports {target}")
    assert not bad, "\n".join(bad)


def test_persistence_imports_no_model_class():
    # a model file records its class; loading imports that class's module by name, so the
    # persistence module needs no registry of every estimator (which made a cycle)
    targets = {_resolve(t) for _, t, _ in _imports("sagpr.models._persistence")}
    assert not targets & {"sagpr.models.spherical", "sagpr.models.tensor", "sagpr.models.scalar"}
