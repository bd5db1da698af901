"""The models stand on their own: nothing under shop/models reaches the read layer or the
product-card render cache, so importing the models first can never run into a cycle."""

import ast
import subprocess
import sys
from pathlib import Path

import shop

SHOP_DIR = Path(shop.__file__).parent
ROOT = SHOP_DIR.parent
# Layers above the models: they read or render models, so the models must not import them.
ABOVE_THE_MODELS = {"shop.selectors", "shop.product_cards", "shop.templatetags.shop_tags"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """The project modules ``path`` imports at module level or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            # "from shop import selectors" imports the module shop.selectors.
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _graph() -> dict[str, set[str]]:
    modules = {
        _module_name(path): path
        for path in SHOP_DIR.rglob("*.py")
        if "migrations" not in path.parts and "tests" not in path.parts
    }
    return {name: _imports(path) & set(modules) for name, path in modules.items()}


def test_nothing_under_shop_models_reaches_the_read_layer_or_the_render_cache():
    graph = _graph()
    models = sorted(name for name in graph if name.startswith("shop.models"))
    assert "shop.models.pages" in models
    for start in models:
        seen, todo, path_to = {start}, [start], {start: [start]}
        while todo:
            current = todo.pop()
            for imported in graph[current] - seen:
                seen.add(imported)
                path_to[imported] = [*path_to[current], imported]
                todo.append(imported)
        reached = seen & ABOVE_THE_MODELS
        assert not reached, " → ".join(path_to[min(reached)])


def test_shop_models_import_first_in_a_fresh_interpreter():
    code = (
        "import django; django.setup(); import sys; import shop.models; "
        "from shop.models import Order, Product, ShopPage; "
        "import shop.selectors, shop.product_cards, shop.checkout.views; print('ok')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={"DJANGO_SETTINGS_MODULE": "site_config.settings.test", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
