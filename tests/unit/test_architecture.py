"""The package's shape: imports run one way, and each fact has one home.

Read from the source with ``ast``, so a late import inside a function counts as much as one at
the top (only the error-hierarchy test imports the modules, to ask Python about their classes).  The layer rule and the cycle check count ``if TYPE_CHECKING:``
imports too (an annotation naming a higher layer is a dependency all the same); the runtime
cycle check alone leaves them out.
"""
from __future__ import annotations

import ast
import importlib
import inspect
import re
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
                 "allocate", "units_to_money", "money_column", "campaign_key", "period_start", "is_loopback", "is_blank",
                 "check_freq", "format_instant", "account_key", "account_identity", "canonical_host", "summary_table",
                 "readable", "segments", "check_server_duplicate", "lock_path", "budget_path",
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
             "RECONCILE_COLUMNS": "sending.reconcile", "SCHEMA_VERSION": "sending.ledger",
             "ENV_STATE_DIR": "core.config", "LOOPBACK_HOST": "core.config", "DEFAULT_PORTS": "core.config"}
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


# -- every error is an SMSgicError --------------------------------------------------------------

# Raised and handled inside the package, never seen by a caller: the sandbox's own (each becomes
# an HTTP answer) and the numbering tables' build errors.
INTERNAL_ERRORS = {"sandbox.app.ApiError", "sandbox.validation.Invalid", "sandbox.store.InsufficientBalance",
                   "sandbox.limits.JSONTooDeep", "numbers.tables._Invalid", "numbers.digitdfa.RegexSyntaxError"}
NOT_YET: set[str] = set()  # every error a caller can meet is an SMSgicError now


def _exception_classes() -> dict[str, type[BaseException]]:
    found = {}
    for module in MODULES:
        if module.endswith("__main__"):
            continue
        for name, value in vars(importlib.import_module(module)).items():
            if (inspect.isclass(value) and issubclass(value, BaseException) and not issubclass(value, Warning)
                    and value.__module__ == module):
                found[f"{module.removeprefix(NAME + '.')}.{name}"] = value
    return found


def test_every_error_the_package_raises_is_an_smsgic_error():
    from smsgic_analytics.core.errors import SMSgicError, ValidationError

    classes = _exception_classes()
    outside = sorted(n for n, c in classes.items() if not issubclass(c, SMSgicError))
    assert outside == sorted(INTERNAL_ERRORS | NOT_YET)
    # The refusals of bad input are ValidationErrors, and still ValueErrors for code that catches those.
    for name in ("core.money.MoneyError", "text.templates.TemplateError", "audience.read.AudienceError",
                 "sandbox.server.RemoteControlsRefused"):
        assert issubclass(classes[name], ValidationError) and issubclass(classes[name], ValueError), name
    assert issubclass(classes["sandbox.control.SandboxControlError"], RuntimeError)


# -- tests take their expected values from elsewhere than the code they check --------------------

TESTS = Path(__file__).resolve().parents[1]
# Tables the sandbox and the segment counter check against: a test that imports them compares
# the code with itself.  Expected limits are typed in tests/by_hand.py, the GSM alphabet in
# tests/unit/test_segments.py (from the 3GPP table), and counts come from smsutil.
CHECKED_MODULES = (f"{NAME}.sandbox.limits", f"{NAME}.text.alphabet")
PENDING_TEST_FILES: set[str] = set()  # none: every test takes documented messages from the document


def test_import_offences_are_found():
    """The checker below, on code that breaks the rule each way (and on code that does not)."""
    assert _offences("from smsgic_analytics.sandbox.limits import MAX_BODY_BYTES") == [
        "1: imports smsgic_analytics.sandbox.limits"]
    assert _offences("from smsgic_analytics.sandbox import limits") == ["1: imports smsgic_analytics.sandbox.limits"]
    assert _offences("import smsgic_analytics.text.alphabet as a") == ["1: imports smsgic_analytics.text.alphabet"]
    assert _offences("from smsgic_analytics.text import alphabet, segments") == [
        "1: imports smsgic_analytics.text.alphabet"]
    assert _offences("from smsgic_analytics.core import spec\nx = spec.MSG_NOT_FOUND") == ["2: spec.MSG_NOT_FOUND"]
    assert _offences("from smsgic_analytics.core.spec import MSG_UNAUTHENTICATED as U") == [
        "1: imports MSG_UNAUTHENTICATED from smsgic_analytics.core.spec"]
    assert _offences("import smsgic_analytics as sa\nsa.sandbox.limits.MAX_JSON_DEPTH") == [
        "2: sa.sandbox.limits.MAX_JSON_DEPTH"]
    assert _offences("from smsgic_analytics.core import spec\nspec.CALCULATE, spec.RECIPIENT_RE") == []
    assert _offences("from smsgic_analytics.text.segments import segments") == []


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return node.id if isinstance(node, ast.Name) else "?"


def _offences(source: str) -> list[str]:
    tree = ast.parse(source)
    inner = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Attribute)}  # a chain counts once
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [f"{node.lineno}: imports {a.name}" for a in node.names if a.name in CHECKED_MODULES]
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                if node.module in CHECKED_MODULES or full in CHECKED_MODULES:
                    found.append(f"{node.lineno}: imports {node.module if node.module in CHECKED_MODULES else full}")
                    break
                if node.module == f"{NAME}.core.spec" and alias.name.startswith("MSG_"):
                    found.append(f"{node.lineno}: imports {alias.name} from {node.module}")
        elif isinstance(node, ast.Attribute) and id(node) not in inner:
            dotted = _dotted(node)
            if re.search(r"\.MSG_\w*|\bsandbox\.limits\.|\btext\.alphabet\.", dotted):
                found.append(f"{node.lineno}: {dotted}")
    return sorted(found, key=lambda f: (int(f.split(":")[0]), f))


def test_no_test_checks_the_code_against_its_own_constants():
    """No test imports the sandbox's limits or the segment tables, or checks a message with
    ``spec.MSG_*``: expected values come from the API document (``tests/api_doc.py``), tables
    typed in the tests (``tests/by_hand.py``), or an independent implementation (phonenumbers,
    smsutil).  (``spec`` for endpoint paths, to make requests, is fine.)"""
    offenders = {}
    for path in sorted(TESTS.rglob("*.py")):
        name = path.relative_to(TESTS).as_posix()
        if name == "unit/test_architecture.py":
            continue
        found = _offences(path.read_text(encoding="utf-8"))
        if found:
            offenders[name] = found
    assert sorted(offenders) == sorted(PENDING_TEST_FILES), offenders
