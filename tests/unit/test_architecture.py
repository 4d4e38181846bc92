"""The package's shape: imports run one way, and each fact has one home.

Read from the source with ``ast`` (nothing is imported), so a late import inside a function
counts as much as one at the top.  The layer rule and the cycle check count ``if TYPE_CHECKING:``
imports too (an annotation naming a higher layer is a dependency all the same); the runtime
cycle check alone leaves them out.
"""
from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import smsgic_analytics

PACKAGE = Path(smsgic_analytics.__file__).parent
NAME = "smsgic_analytics"


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(module: str, path: Path, *, type_checking: bool = False) -> set[str]:
    """Package modules ``module`` imports (``from . import x`` names module x when it is one)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node) and not type_checking:
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith(NAME))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith(NAME):
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    found.add(sub if sub in MODULES else target)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    found.discard(module)
    return {m for m in found if m in MODULES}


def test_no_module_imports_one_that_imports_it_back():
    graph = {m: _imports(m, p) for m, p in MODULES.items()}
    assert _cycles(graph) == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    # Tarjan's strongly connected components: any component of two or more modules is a cycle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def strongconnect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                strongconnect(w)
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
                cycles.append(sorted(component))

    for module in graph:
        if module not in index:
            strongconnect(module)
    return cycles


# The flow, bottom to top: a module may import its own layer and the ones before it, never one after.
LAYERS = ("core", "numbers", "text", "audience", "api", "pricing", "sending", "analytics", "client", "apps", "lab")
SANDBOX_MAY_IMPORT = ("core", "numbers", "text")


TOP = (NAME, f"{NAME}.__main__", f"{NAME}._deprecated")  # the surface: may import any layer


def _layer(module: str) -> str:
    return "package" if module in TOP else module.split(".")[1]


def test_layers_point_down_the_flow():
    """``if TYPE_CHECKING:`` imports count: an annotation that names a higher layer is a
    dependency on it all the same."""
    graph = {m: _imports(m, p, type_checking=True) for m, p in MODULES.items()}
    assert set(_layer(m) for m in MODULES) <= set(LAYERS) | {"package", "sandbox"}
    upward = []
    for module, deps in graph.items():
        layer = _layer(module)
        for dep in deps:
            target = _layer(dep)
            if layer == "package" or target == "package":
                if layer != "package":
                    upward.append(f"{module} -> {dep}")
                continue
            if layer == "sandbox":
                if target not in SANDBOX_MAY_IMPORT + ("sandbox",):
                    upward.append(f"{module} -> {dep}")
            elif target == "sandbox":
                if layer != "lab":
                    upward.append(f"{module} -> {dep}")
            elif LAYERS.index(target) > LAYERS.index(layer):
                upward.append(f"{module} -> {dep}")
    assert upward == []


def test_no_cycle_even_through_type_checking_imports():
    graph = {m: _imports(m, p, type_checking=True) for m, p in MODULES.items()}
    assert _cycles(graph) == []


def test_the_package_top_level_is_only_the_flow():
    """Every module lives in the package of its stage; only the facade sits at the top."""
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert top == ["__init__.py", "__main__.py", "_deprecated.py", "client.py"]


def _definitions() -> dict[str, list[str]]:
    defined: dict[str, list[str]] = defaultdict(list)
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                defined[node.name].append(module)
    return defined


def _assigned() -> dict[str, list[str]]:
    """Module-level names bound by assignment, and where."""
    bound: dict[str, list[str]] = defaultdict(list)
    for module, path in MODULES.items():
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
                node, ast.AnnAssign) else []
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        bound[name.id].append(module)
    return bound


# The pandas accessor's methods are named after the functions they call (df.sms.segments calls
# segment_counts): a name, not a second implementation.  Only that module may reuse the names.
ACCESSOR = f"{NAME}.pricing.accessor"


def test_each_fact_has_one_home():
    defined = {name: [m for m in modules if m != ACCESSOR] for name, modules in _definitions().items()}
    for name in ("normalize_number", "normalize_numbers", "parse_money", "format_scheduled_at", "format_money",
                 "allocate", "units_to_money", "campaign_key", "period_start", "is_loopback", "is_blank",
                 "check_freq", "format_instant", "account_key", "summary_table", "readable", "segments",
                 "parse_http_date", "describe_skew", "choose_fingerprint", "text_hash", "decide", "observe_server"):
        assert len(defined.get(name, [])) == 1, (name, defined.get(name))
    # Near-twins that used to exist: a second normaliser, money parser or schedule formatter.
    for stale in ("normalise_number", "to_decimal", "_as_text_number", "decimal_sum", "_check_freq"):
        assert stale not in defined, (stale, defined[stale])
    bound = _assigned()
    homes = {"MAX_MESSAGE_PARTS": "core.spec", "DEMO_TOKEN": "core.spec", "DEMO_BALANCE": "core.spec",
             "DEMO_SENDERS": "core.spec", "SCHEDULED_AT_FORMAT": "core.spec", "PLACES": "core.money",
             "MAX_LISTED": "core.display", "COUNTRY_DEFAULT": "core.display", "ACCOUNT_KEY_RE": "core.config",
             "GSM7_BASIC": "text.alphabet", "GSM7_EXTENSION": "text.alphabet", "GSM7_PART": "text.alphabet",
             "UCS2_PART": "text.alphabet", "FREQS": "analytics.spend", "DESTINATIONS_COLUMNS": "pricing.quote",
             "SAFE_TO_REPEAT": "api.policy", "LANES": "sending.fingerprint", "LARGE_SKEW": "core.dates",
             "RECONCILE_COLUMNS": "sending.reconcile", "SCHEMA_VERSION": "sending.ledger"}
    assert {n: bound.get(n) for n in homes} == {n: [f"{NAME}.{m}"] for n, m in homes.items()}
    # Former second copies, by other names.
    for stale in ("MAX_SEGMENTS", "MONEY_PLACES", "DEFAULT_TOKEN", "SANDBOX_TOKEN", "_ACCOUNT_RE",
                  "_DESTINATION_COLUMNS"):
        assert stale not in bound, (stale, bound[stale])


def test_facts_are_not_spelled_out_twice():
    """The demo token and balance, the API's time format and its digit pattern are written once."""
    literals = {"demo-token": "core.spec", "450.000": "core.spec", "%Y-%m-%d %H:%M:%S": "core.spec"}
    found: dict[str, set[str]] = defaultdict(set)
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docs = _docstrings(tree)  # a docstring may show a fact; code may not restate it
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
                for literal in literals:
                    if literal in node.value:
                        found[literal].add(module)
    assert {k: sorted(v) for k, v in found.items()} == {k: [f"{NAME}.{m}"] for k, m in literals.items()}


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the docstring constants of a module and its classes and functions."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def test_money_is_parsed_in_one_place():
    """Turning a float or arbitrary text into Decimal happens in money.py only.  (The sandbox is
    the server: it shares no money code with the client, so a client bug cannot hide behind it.)"""
    offenders = []
    for module, path in MODULES.items():
        if module == f"{NAME}.core.money" or module.startswith(f"{NAME}.sandbox"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Decimal" and node.args:
                arg = node.args[0]
                if isinstance(arg, ast.Call) and getattr(arg.func, "id", None) in ("str", "repr", "float"):
                    offenders.append(f"{module}:{node.lineno}")
    assert offenders == []
