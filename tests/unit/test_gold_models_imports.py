"""The Gold models' logic is a plain package: no dbt, no command line; Spark only in its ``*_spark`` modules."""

import ast
from pathlib import Path

import spotify_analytics.gold_models

PACKAGE = Path(spotify_analytics.gold_models.__file__).parent


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_module_imports_dbt_or_the_cli_and_only_the_spark_sides_import_pyspark() -> None:
    modules = {path.stem: imported_modules(path) for path in sorted(PACKAGE.glob("*.py"))}

    assert {"sound_clusters", "mood_states", "mood_states_spark", "recommendations", "recommendations_spark"} <= set(
        modules
    )
    for stem, imports in modules.items():
        roots = {name.split(".")[0] for name in imports}
        assert "dbt" not in roots, stem
        assert not any(name.startswith("spotify_analytics.cli") for name in imports), stem
        assert ("pyspark" in roots) == stem.endswith("_spark"), stem
