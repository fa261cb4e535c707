"""Write a running Superset's dashboards back to the repository's bundle (Superset's export format, as YAML), so
edits made in Superset's UI can be committed.

Superset's REST API: a login gives an access token (``/api/v1/security/login``), ``/api/v1/dashboard/`` lists the
dashboards and ``/api/v1/dashboard/export/`` returns them, with their charts, datasets and database connection, as a
zip of YAML files under one root folder. What the repository keeps differs from that zip in these points only:

- the ids one Superset gave its objects are left out (a file name's ``_<id>`` suffix, a chart's ``datasource`` in its
  params and query context, a dashboard's ``chartId`` of each chart): every import assigns them anew from the uuids,
  so an export from any Superset writes the same files;
- a database connection's ``sqlalchemy_uri`` stays as the repository has it (the host and port are set at import from
  ``LAKEHOUSE_HOST`` and ``THRIFT_PORT``, so an export from any Superset does not move them);
- ``metadata.yaml`` is left as it is when only its export timestamp changed (no diff without a change).

Files of the bundle that the export no longer holds (a chart deleted in the UI) are removed.
"""

import io
import json
import logging
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import requests
import yaml

log = logging.getLogger(__name__)
METADATA = "metadata.yaml"
DATABASES = "databases"
ID_SUFFIX = re.compile(r"_\d+(?=\.yaml$)")  # Superset's file names end in the object's id: Recommended_tracks_10.yaml


class SupersetError(RuntimeError):
    """Superset refused or failed a request; the message says which and what it answered."""


@dataclass(frozen=True)
class ExportResult:
    dashboards: list[str]  # their titles
    written: list[str]  # bundle paths written (new or changed)
    unchanged: int
    removed: list[str]


class SupersetClient:
    """Superset's REST API as the given account (the password is sent to Superset only, never logged)."""

    def __init__(self, url: str, username: str, password: str, timeout: float) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        login = self._request(
            "POST",
            "/api/v1/security/login",
            json={"username": username, "password": password, "provider": "db", "refresh": False},
        )
        self.session.headers["Authorization"] = f"Bearer {login.json()['access_token']}"

    def _request(self, method: str, path: str, **kwargs: object) -> requests.Response:
        try:
            response = self.session.request(method, self.url + path, timeout=self.timeout, **kwargs)  # type: ignore[arg-type]
        except requests.RequestException as exc:
            raise SupersetError(f"Superset at {self.url} did not answer {method} {path}: {exc}") from None
        if response.status_code != 200:
            raise SupersetError(
                f"Superset at {self.url} answered {method} {path} with HTTP {response.status_code}: "
                f"{response.text[:500]}"
            )
        return response

    def get(self, path: str, **params: str) -> requests.Response:
        return self._request("GET", path, params=params)

    def dashboards(self) -> dict[int, str]:
        """Every dashboard's id and title."""
        listed = self.get("/api/v1/dashboard/", q="(columns:!(id,dashboard_title),page_size:100)").json()
        return {item["id"]: item["dashboard_title"] for item in listed["result"]}

    def export_dashboards(self, ids: list[int]) -> dict[str, str]:
        """The export of these dashboards: file path in the bundle (the zip's root folder left out) -> YAML text."""
        archive = self.get("/api/v1/dashboard/export/", q=f"!({','.join(map(str, ids))})").content
        with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
            return {
                PurePosixPath(*PurePosixPath(name).parts[1:]).as_posix(): zipped.read(name).decode()
                for name in zipped.namelist()
                if not name.endswith("/")
            }


def export_bundle(client: SupersetClient, bundle: Path) -> ExportResult:
    """Write every dashboard of the Superset ``client`` reaches into ``bundle``; return what changed."""
    dashboards = client.dashboards()
    if not dashboards:
        raise SupersetError(f"Superset at {client.url} holds no dashboard: nothing to export")
    exported = without_instance_ids(client.export_dashboards(sorted(dashboards)))
    exported = {name: kept_as_in_repository(name, text, bundle / name) for name, text in exported.items()}
    written = [name for name, text in sorted(exported.items()) if write_if_changed(bundle / name, text)]
    removed = []
    for path in sorted(bundle.rglob("*.yaml")) if bundle.is_dir() else []:
        name = path.relative_to(bundle).as_posix()
        if name not in exported:
            path.unlink()
            removed.append(name)
    log.info(
        "Exported %d dashboard(s) into %s: %d file(s) written, %d removed",
        len(dashboards),
        bundle,
        len(written),
        len(removed),
    )
    return ExportResult(sorted(dashboards.values()), written, len(exported) - len(written), removed)


def without_instance_ids(exported: dict[str, str]) -> dict[str, str]:
    """The export with the ids of one Superset left out (module docstring); a file keeps its id suffix only where
    two objects of one kind share a name."""
    stems = [ID_SUFFIX.sub("", name) for name in exported]
    files = {}
    for name, text in exported.items():
        stem = ID_SUFFIX.sub("", name)
        config = yaml.safe_load(text)
        if name.startswith("charts/"):
            config["params"].pop("datasource", None)
            if config.get("query_context"):
                context = json.loads(config["query_context"])
                context["datasource"] = {**context.get("datasource", {}), "id": 0}
                context.get("form_data", {}).pop("datasource", None)
                config["query_context"] = json.dumps(context)
        elif name.startswith("dashboards/"):
            for element in config["position"].values():
                if isinstance(element, dict) and "chartId" in element.get("meta", {}):
                    element["meta"]["chartId"] = 0
        else:
            files[stem if stems.count(stem) == 1 else name] = text
            continue
        files[stem if stems.count(stem) == 1 else name] = yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
    return files


def kept_as_in_repository(name: str, text: str, current: Path) -> str:
    """The exported ``text`` of bundle file ``name``, with what the repository keeps of its own (module docstring)."""
    if not current.is_file():
        return text
    kept = yaml.safe_load(current.read_text())
    new = yaml.safe_load(text)
    if name == METADATA and {**new, "timestamp": None} == {**kept, "timestamp": None}:
        return current.read_text()
    if name.startswith(f"{DATABASES}/") and "sqlalchemy_uri" in kept:
        return yaml.safe_dump({**new, "sqlalchemy_uri": kept["sqlalchemy_uri"]}, sort_keys=False, allow_unicode=True)
    return text


def write_if_changed(path: Path, text: str) -> bool:
    if path.is_file() and path.read_text() == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return True
