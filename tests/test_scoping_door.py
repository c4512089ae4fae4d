"""Request-facing code reaches rows only through the scoping door (selectors and TenantQuerySet).

Views (`apis.py`, `views.py`) may not touch a model manager or filter by organisation themselves: a
view written later that tries is caught here, not in review.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VIEW_MODULES = sorted(
    [*ROOT.glob("apps/*/apis.py"), *ROOT.glob("apps/*/views.py"), *ROOT.glob("config/views.py")],
)


QUERY_METHODS = {"filter", "exclude", "get", "first", "get_or_create", "update_or_create"}


def manager_uses(tree: ast.AST) -> list[str]:
    """`Model.objects…` / `_default_manager` uses and queries by organisation written in a module."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("objects", "_default_manager", "_base_manager"):
            found.append(f"line {node.lineno}: .{node.attr}")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in QUERY_METHODS:
            for keyword in node.keywords:
                if keyword.arg and "organization" in keyword.arg.split("__"):
                    found.append(f"line {node.lineno}: {node.func.attr}({keyword.arg}=)")
    return sorted(found)


@pytest.mark.parametrize("module", VIEW_MODULES, ids=lambda path: str(path.relative_to(ROOT)))
def test_views_reach_rows_only_through_selectors(module):
    assert manager_uses(ast.parse(module.read_text())) == [], module


def test_the_check_above_catches_a_view_that_filters_by_hand():
    sneaky = "def get(request):\n    return Property.objects.filter(organization=request.user.org)\n"
    assert manager_uses(ast.parse(sneaky)) == ["line 2: .objects", "line 2: filter(organization=)"]
    legitimate = "def post(request):\n    return property_create(organization=organization_access(user=request.user))\n"
    assert manager_uses(ast.parse(legitimate)) == []


def test_there_are_views_to_check():
    assert len(VIEW_MODULES) >= 4, VIEW_MODULES
