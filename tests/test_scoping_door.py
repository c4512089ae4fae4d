"""Request-facing code reaches rows only through the scoping door (selectors and TenantQuerySet).

At run time a tenant model's `objects` refuses to query until scoped (apps/core/tenancy.py). Here,
every module a request runs through — APIs, views, forms, admin, template tags, selectors — is read
for what the run-time check cannot see: a query by organisation written by hand, Django's default
or base manager, and the `unscoped` bypass, which only the lookups named in UNSCOPED_ALLOWED may use.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REQUEST_FACING = ("apis", "views", "forms", "admin", "selectors", "urls")
MODULES = sorted(
    path
    for path in ROOT.glob("apps/**/*.py")
    if "migrations" not in path.parts
    and (path.stem in REQUEST_FACING or path.parent.name in (*REQUEST_FACING, "templatetags"))
)

# The door itself: the admin of tenant models scopes Django's default manager (apps/core/admin.py).
DOOR = "apps/core/admin.py"

# Where request-facing code may use the bypass, and why: each finds who is asking, before any door.
UNSCOPED_ALLOWED = {
    ("apps/keys/selectors.py", "_active_key"): "authentication: the key a secret or token names",
    ("apps/keys/selectors.py", "_site"): "ingest: the property a peer tracker names",
    ("apps/properties/selectors.py", "property_allowed_origins"): "CORS: a property's origins before its key is read",
    ("apps/properties/selectors.py", "origin_allowed_anywhere"): "CORS: a peer tracker's preflight names no property",
    ("apps/reports/shared_links/selectors.py", "shared_link_resolve"): "authentication: the link a token names",
}

QUERY_METHODS = {"filter", "exclude", "get", "first", "get_or_create", "update_or_create"}


def door_breaches(tree: ast.AST, module: str = "") -> list[str]:
    """Default or base manager uses (but in the DOOR), unscoped uses outside UNSCOPED_ALLOWED, and
    queries by organisation written by hand (but in selectors, which narrow what the door let through)."""
    found = []
    functions = [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)]

    def enclosing(node) -> str:
        inside = [f for f in functions if f.lineno <= node.lineno <= (f.end_lineno or f.lineno)]
        return min(inside, key=lambda f: (f.end_lineno or 0) - f.lineno).name if inside else ""

    for node in ast.walk(tree):
        if module != DOOR and isinstance(node, ast.Attribute) and node.attr in ("_default_manager", "_base_manager"):
            found.append(f"line {node.lineno}: .{node.attr}")
        unscoped = isinstance(node, ast.Attribute) and node.attr == "unscoped"
        if unscoped and (module, enclosing(node)) not in UNSCOPED_ALLOWED:
            found.append(f"line {node.lineno}: .unscoped")
        if module.endswith("selectors.py"):
            continue
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in QUERY_METHODS:
            for keyword in node.keywords:
                if keyword.arg and "organization" in keyword.arg.split("__"):
                    found.append(f"line {node.lineno}: {node.func.attr}({keyword.arg}=)")
    return sorted(found)


@pytest.mark.parametrize("module", MODULES, ids=lambda path: str(path.relative_to(ROOT)))
def test_request_facing_code_reaches_rows_only_through_the_door(module):
    name = str(module.relative_to(ROOT))
    assert door_breaches(ast.parse(module.read_text()), name) == [], name


def test_the_check_above_catches_a_view_that_goes_round_the_door():
    sneaky = (
        "def get(request):\n"
        "    return Property.unscoped.filter(organization=request.user.org)\n"
        "def put(request):\n"
        "    return Property._default_manager.all()\n"
    )
    assert door_breaches(ast.parse(sneaky)) == [
        "line 2: .unscoped",
        "line 2: filter(organization=)",
        "line 4: ._default_manager",
    ]
    legitimate = "def post(request):\n    return property_create(organization=organization_access(user=request.user))\n"
    assert door_breaches(ast.parse(legitimate)) == []


def test_the_allowed_bypasses_exist():
    """An entry left behind after its function moved would allow a bypass nobody reviewed."""
    for module, function in UNSCOPED_ALLOWED:
        tree = ast.parse((ROOT / module).read_text())
        assert function in {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}, module


def test_every_kind_of_request_facing_module_is_read():
    kinds = {path.stem if path.parent.name != "templatetags" else "templatetags" for path in MODULES}
    assert {"apis", "views", "forms", "admin", "selectors", "templatetags"} <= kinds, kinds


def test_modules_inside_packages_are_read_too():
    """A views/ package's modules, and a package's own selectors and views (apps/reports/shared_links/)."""
    read = {str(path.relative_to(ROOT)) for path in MODULES}
    assert {
        "apps/reports/views/dashboard.py",
        "apps/reports/views/presentation.py",
        "apps/reports/shared_links/selectors.py",
        "apps/reports/shared_links/views.py",
        "apps/reports/shared_links/forms.py",
    } <= read
