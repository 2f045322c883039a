"""The suite's own shape: helpers live in conftest.py (fixtures) and factories.py."""

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_test_modules_import_no_other_test_module():
    offenders = []
    for path in sorted(TESTS.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                allowed = name in ("tests", "tests.factories") or name.startswith(
                    "tests.factories."
                )
                if name.split(".")[0] == "tests" and not allowed:
                    offenders.append(f"{path.relative_to(TESTS)}: {name}")
    assert offenders == []
