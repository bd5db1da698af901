"""Every pytest fixture name is defined in one module of tests/, so a test's ``shop`` or
``fake`` means one thing wherever it is asked for; shared builders live in tests/support/."""

import ast
from collections import defaultdict
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _is_fixture(decorator: ast.expr) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return (isinstance(target, ast.Attribute) and target.attr == "fixture") or (
        isinstance(target, ast.Name) and target.id == "fixture"
    )


def _fixture_name(function: ast.FunctionDef, decorator: ast.expr) -> str:
    """The name tests ask for: ``@pytest.fixture(name=...)`` if given, else the function's."""
    if isinstance(decorator, ast.Call):
        for keyword in decorator.keywords:
            if keyword.arg == "name" and isinstance(keyword.value, ast.Constant):
                return keyword.value.value
    return function.name


def fixture_definitions(root: Path) -> dict[str, list[str]]:
    """Fixture name → the modules (paths relative to ``root``) that define it."""
    found: dict[str, list[str]] = defaultdict(list)
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for decorator in node.decorator_list:
                if _is_fixture(decorator):
                    found[_fixture_name(node, decorator)].append(str(path.relative_to(root)))
    return found


def test_no_fixture_name_is_defined_in_more_than_one_module():
    definitions = fixture_definitions(TESTS)
    assert definitions["shop"], "the walk found no fixtures: is TESTS the tests folder?"

    defined_twice = {name: where for name, where in definitions.items() if len(where) > 1}

    assert defined_twice == {}, (
        "each fixture is defined once (tests/conftest.py or the nearest common conftest.py); "
        "a variant gets a name that says what differs"
    )


def test_the_walk_sees_a_fixture_defined_twice(tmp_path):
    (tmp_path / "conftest.py").write_text(
        "import pytest\n\n@pytest.fixture\ndef shop():\n    return 1\n"
    )
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "test_x.py").write_text(
        "from pytest import fixture\n\n"
        "@fixture(scope='module')\ndef other():\n    return 2\n\n"
        "@fixture(name='shop')\ndef local_shop():\n    return 3\n"
    )

    assert fixture_definitions(tmp_path) == {
        "shop": ["conftest.py", "sub/test_x.py"],
        "other": ["sub/test_x.py"],
    }
