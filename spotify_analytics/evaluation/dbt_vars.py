"""The ``vars:`` of dbt_project.yml, so an evaluation uses the same parameters as the build."""

from typing import Any

import yaml

from ingest.audio_features import PROJECT_FILE
from ingest.config import Settings


def project_vars(settings: Settings) -> dict[str, Any]:
    """The project's vars (dbt_project.yml in the settings' project folder, where dbt runs)."""
    project = yaml.safe_load((settings.project_dir / PROJECT_FILE).read_text(encoding="utf-8"))
    return project.get("vars", {})
