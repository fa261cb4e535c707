"""The plugin stands on its own: it imports dbt, pyspark and the standard library, nothing of a project that uses
it, and reports one version."""

import ast
import importlib.metadata
import sys
from pathlib import Path

from dbt.adapters.spark_lakehouse.__version__ import version
from dbt.adapters.spark_lakehouse.impl import SparkLakehouseAdapter
from dbt.include import spark_lakehouse

PLUGIN = Path(__file__).resolve().parents[2] / "dbt"
ALLOWED = {"dbt", "dbt_common", "pyspark", *sys.stdlib_module_names}


def imported_packages(source: Path) -> set[str]:
    packages = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.Import):
            packages.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            packages.add(node.module.split(".")[0])
    return packages


def test_the_plugin_imports_only_dbt_pyspark_and_the_standard_library() -> None:
    sources = sorted(PLUGIN.rglob("*.py"))
    imports = {source.name: imported_packages(source) - ALLOWED for source in sources}

    assert len(sources) >= 8
    assert imports == {source.name: set() for source in sources}


def test_one_version_in_the_code_and_the_package_metadata() -> None:
    assert importlib.metadata.version("dbt-spark-lakehouse") == version
    assert version.count(".") == 2


def test_the_installed_macros_are_the_plugins() -> None:
    installed = sorted(path.name for path in Path(spark_lakehouse.PACKAGE_PATH, "macros").glob("*.sql"))

    assert installed == sorted(path.name for path in (PLUGIN / "include" / "spark_lakehouse" / "macros").glob("*.sql"))
    assert SparkLakehouseAdapter.type() == "spark_lakehouse"
