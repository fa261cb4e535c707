"""Superset's dashboards on the lakehouse, against a real Superset: the pinned ``apache-superset`` installed from PyPI
into its own virtual environment (``spotify-analytics superset install``, reused while ``superset/requirements.lock``
is unchanged), provisioned by ``superset/provision.py`` (what the compose service runs) with SQLite metadata, served by
gunicorn on a free loopback port, reading the session's lakehouse (the real exports' pipeline run) through its Thrift
port with the lakehouse secret.

Checked: every chart of the bundle runs its query against the lakehouse and returns rows, and the totals of two agree
with the same sums computed through Spark Connect (a second route); the participant and feature-source filters narrow
them as Spark does; the dashboard renders in headless Chromium, tab by tab, with no console error; ``superset export``
writes back exactly the repository's bundle; the dbt exposure names the bundle's tables; the compose service is wired
as documented. ``UPDATE_DOCS=1`` writes the dashboard's screenshot to docs/images/superset-dashboard.png.
"""

import base64
import json
import logging
import os
import re
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import yaml
from browser import CHROMIUM_FLAGS, Browser, require_chromium
from conftest import REPO, Lakehouse, ScheduledRun, free_port

from ingest.lakehouse.secret import secret_file

log = logging.getLogger(__name__)
BUNDLE = REPO / "superset" / "bundle"
SCREENSHOT = REPO / "docs" / "images" / "superset-dashboard.png"
DASHBOARD_SLUG = "spotify-listening"
INSTALL_TIMEOUT = 900.0
PROVISION_TIMEOUT = 600.0
START_TIMEOUT = 180.0
REQUEST_TIMEOUT = 180.0
RENDER_TIMEOUT = 300.0
TELEMETRY = (
    "scarf.sh"  # Superset's frontend loads a pixel from there on every page; the CSP refuses it (superset_config)
)
# Headless Chromium without any way out but to Superset on loopback (the report tests' flags map every host to nothing)
LOOPBACK_FLAGS = [
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1" if flag.startswith("--host-resolver-rules") else flag
    for flag in CHROMIUM_FLAGS
]


def bundle_files(kind: str) -> dict[str, dict]:
    """The bundle's YAML files of one kind (charts, datasets, dashboards), by uuid."""
    files = (yaml.safe_load(path.read_text()) for path in sorted((BUNDLE / kind).rglob("*.yaml")))
    return {config["uuid"]: config for config in files}


@dataclass
class Superset:
    url: str
    username: str
    password: str
    env: dict[str, str]

    def api(self) -> requests.Session:
        """A session holding an access token of the admin (Superset's REST API)."""
        session = requests.Session()
        login = session.post(
            f"{self.url}/api/v1/security/login",
            json={"username": self.username, "password": self.password, "provider": "db", "refresh": False},
            timeout=REQUEST_TIMEOUT,
        )
        assert login.status_code == 200, login.text
        session.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        return session

    def browser_cookies(self) -> list[dict]:
        """The cookies of a session logged in through Superset's login form, as a browser's would be."""
        session = requests.Session()
        page = session.get(f"{self.url}/login/", timeout=REQUEST_TIMEOUT)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
        assert token, "Superset's login page holds no csrf_token"
        form = {"username": self.username, "password": self.password, "csrf_token": token[1]}
        logged_in = session.post(f"{self.url}/login/", data=form, timeout=REQUEST_TIMEOUT)
        assert logged_in.status_code == 200 and "/login" not in logged_in.url, logged_in.url
        return [{"name": c.name, "value": c.value, "domain": "127.0.0.1", "path": "/"} for c in session.cookies]


def run_to_end(command: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{command[:3]} did not end within {timeout:.0f} s: {str(exc.stderr)[-3000:]}")


@pytest.fixture(scope="module")
def superset_venv(lakehouse: Lakehouse) -> Path:
    """Superset's virtual environment, installed from the lock by ``superset install`` (or reused)."""
    started = time.monotonic()
    installed = lakehouse.cli("superset", "install", "--timeout", str(INSTALL_TIMEOUT), timeout=INSTALL_TIMEOUT + 60)
    assert installed.returncode == 0, installed.stderr[-3000:]
    log.info("superset install: %.0f s (%s)", time.monotonic() - started, installed.stdout.strip())
    return Path(installed.stdout.split("Superset installed in ", 1)[1].split(" (", 1)[0])


@pytest.fixture(scope="module")
def superset(
    real_exports_run: ScheduledRun, lakehouse: Lakehouse, superset_venv: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Superset]:
    """Superset provisioned with the repository's bundle against the session's lakehouse (after the real exports'
    pipeline run), serving on a free loopback port until the module ends."""
    venv = superset_venv
    home = tmp_path_factory.mktemp("superset")
    port = free_port()
    env = {
        **os.environ,
        "SUPERSET_CONFIG_PATH": str(REPO / "superset" / "superset_config.py"),
        "SUPERSET_HOME": str(home),
        "SUPERSET_SECRET_KEY": secrets.token_hex(32),
        "SUPERSET_ADMIN_USERNAME": "admin",
        "SUPERSET_ADMIN_PASSWORD": secrets.token_urlsafe(16),
        "LAKEHOUSE_SECRET_FILE": str(secret_file(lakehouse.settings)),
        "LAKEHOUSE_HOST": "127.0.0.1",
        "THRIFT_PORT": str(lakehouse.settings.thrift_port),
        "SUPERSET_STEP_TIMEOUT": str(PROVISION_TIMEOUT / 2),
    }
    started = time.monotonic()
    provisioned = run_to_end([str(venv / "bin" / "python"), "superset/provision.py"], env, PROVISION_TIMEOUT)
    assert provisioned.returncode == 0, provisioned.stderr[-3000:]
    assert env["SUPERSET_ADMIN_PASSWORD"] not in provisioned.stdout + provisioned.stderr  # no secret in its log
    log.info("superset provision: %.0f s", time.monotonic() - started)

    log_file = (home / "gunicorn.log").open("w")
    server = subprocess.Popen(
        [str(venv / "bin" / "gunicorn"), "--workers", "1", "--threads", "4", "--timeout", str(int(REQUEST_TIMEOUT)),
         "--bind", f"127.0.0.1:{port}", "superset.app:create_app()"],
        cwd=home, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        started = time.monotonic()
        while not healthy(url):
            assert server.poll() is None, (home / "gunicorn.log").read_text()[-3000:]
            assert time.monotonic() < started + START_TIMEOUT, f"Superset did not answer {url}/health in time"
            time.sleep(2)
        log.info("superset start: %.0f s", time.monotonic() - started)
        yield Superset(url, env["SUPERSET_ADMIN_USERNAME"], env["SUPERSET_ADMIN_PASSWORD"], env)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=30)
        log_file.close()


def healthy(url: str) -> bool:
    try:
        return requests.get(f"{url}/health", timeout=5).text == "OK"
    except requests.RequestException:
        return False


def charts_by_uuid(api: requests.Session, url: str) -> dict[str, dict]:
    listed = api.get(
        f"{url}/api/v1/chart/", params={"q": "(columns:!(id,uuid,slice_name),page_size:100)"}, timeout=REQUEST_TIMEOUT
    )
    assert listed.status_code == 200, listed.text
    return {chart["uuid"]: chart for chart in listed.json()["result"]}


def chart_data(api: requests.Session, url: str, chart_id: int) -> dict:
    """The chart's query as saved with it, run by Superset against the lakehouse: its first result."""
    answer = api.get(f"{url}/api/v1/chart/{chart_id}/data/", timeout=REQUEST_TIMEOUT)
    assert answer.status_code == 200, f"chart {chart_id}: HTTP {answer.status_code}: {answer.text[:2000]}"
    return answer.json()["result"][0]


def chart_uuid(name: str) -> str:
    [uuid] = [uuid for uuid, config in bundle_files("charts").items() if config["slice_name"] == name]
    return uuid


HEATMAP = "Listening time by weekday and hour (minutes)"


def test_provisioning_names_the_settings_it_misses(superset_venv: Path, tmp_path: Path) -> None:
    env = {**os.environ, "SUPERSET_HOME": str(tmp_path), "SUPERSET_SECRET_KEY": "k", "SUPERSET_ADMIN_USERNAME": "admin"}
    env.pop("SUPERSET_ADMIN_PASSWORD", None)
    refused = run_to_end([str(superset_venv / "bin" / "python"), "superset/provision.py"], env, 60)
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        "error: set SUPERSET_ADMIN_PASSWORD (in .env or the environment); nothing was provisioned"
    )
    assert list(tmp_path.iterdir()) == []  # no metadata database made


# ---------------------------------------------------------------- the charts' queries


def test_every_chart_of_the_bundle_runs_against_the_lakehouse_and_returns_rows(superset: Superset) -> None:
    api = superset.api()
    charts = charts_by_uuid(api, superset.url)
    expected = bundle_files("charts")
    assert set(charts) == set(expected), "Superset holds other charts than the bundle's"
    empty, errors = [], []
    for uuid, config in expected.items():
        result = chart_data(api, superset.url, charts[uuid]["id"])
        if result.get("error"):
            errors.append(f"{config['slice_name']}: {result['error']}")
        elif not result["rowcount"] or not result["data"]:
            empty.append(config["slice_name"])
    assert errors == [] and empty == [], (errors, empty)


def test_chart_totals_and_filters_agree_with_spark(superset: Superset, lakehouse: Lakehouse) -> None:
    """The weekday x hour heatmap reads silver.listening_with_features: its cells add up to the table's minutes (summed
    through Spark Connect), and the participant and feature-source filters narrow it as a WHERE does in Spark."""
    api = superset.api()
    chart = charts_by_uuid(api, superset.url)[chart_uuid(HEATMAP)]
    result = chart_data(api, superset.url, chart["id"])
    [spark] = lakehouse.sql(
        "select sum(minutes_played) as minutes, count(distinct day_of_week, hour_of_day) as cells, "
        "max_by(user_id, listener_minutes) as listener from (select *, sum(minutes_played) over (partition by user_id) "
        "as listener_minutes from silver.listening_with_features)"
    )
    assert result["rowcount"] == spark.cells
    assert sum(row["minutes"] for row in result["data"]) == pytest.approx(spark.minutes, rel=1e-9)

    saved = json.loads(api.get(f"{superset.url}/api/v1/chart/{chart['id']}", timeout=REQUEST_TIMEOUT).json()
                       ["result"]["query_context"])  # fmt: skip
    for column, value in (("user_id", spark.listener), ("feature_source", "kaggle")):
        query = {
            **saved,
            "queries": [{**saved["queries"][0], "filters": [{"col": column, "op": "IN", "val": [value]}]}],
        }
        answer = api.post(f"{superset.url}/api/v1/chart/data", json=query, timeout=REQUEST_TIMEOUT)
        assert answer.status_code == 200, answer.text[:2000]
        filtered = answer.json()["result"][0]["data"]
        [expected] = lakehouse.sql(
            f"select sum(minutes_played) as minutes from silver.listening_with_features where {column} = '{value}'"
        )
        assert expected.minutes, f"no minutes with {column} = {value}: the check would prove nothing"
        assert sum(row["minutes"] for row in filtered) == pytest.approx(expected.minutes, rel=1e-9), column


def test_dashboard_has_a_tab_per_analytics_type_and_the_three_native_filters(superset: Superset) -> None:
    api = superset.api()
    answer = api.get(f"{superset.url}/api/v1/dashboard/{DASHBOARD_SLUG}", timeout=REQUEST_TIMEOUT)
    assert answer.status_code == 200, answer.text
    dashboard = answer.json()["result"]
    position = json.loads(dashboard["position_json"])
    tabs = [element["meta"]["text"] for element in position.values() if isinstance(element, dict)
            and element.get("type") == "TAB"]  # fmt: skip
    assert tabs == ["Listening time", "Wellbeing", "Mood states", "Recommendations", "Data quality"]
    filters = json.loads(dashboard["json_metadata"])["native_filter_configuration"]
    summary = {(f["name"], f["filterType"], f["targets"][0].get("column", {}).get("name")) for f in filters}
    assert summary == {
        ("Participant", "filter_select", "user_id"),
        ("Period", "filter_time", None),
        ("Feature source", "filter_select", "feature_source"),
    }


# ---------------------------------------------------------------- the dashboard in a browser


def test_dashboard_renders_every_tab_in_chromium_without_console_errors(superset: Superset, tmp_path: Path) -> None:
    require_chromium()
    api = superset.api()
    chart_ids = {chart["id"] for chart in charts_by_uuid(api, superset.url).values()}
    browser = Browser(tmp_path / "profile", flags=LOOPBACK_FLAGS)
    try:
        session = browser.attach_page()
        browser.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": 1400, "height": 900, "deviceScaleFactor": 1, "mobile": False},
            session=session,
        )
        for cookie in superset.browser_cookies():
            browser.send("Network.setCookie", cookie, session=session)
        browser.events.clear()
        browser.send("Page.navigate", {"url": f"{superset.url}/superset/dashboard/{DASHBOARD_SLUG}/"}, session=session)
        browser.wait_for("Page.loadEventFired", timeout=120)

        def evaluate(expression: str) -> object:
            reply = browser.send("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=session)
            return reply["result"].get("value")

        deadline = time.monotonic() + RENDER_TIMEOUT
        loaded: dict[int, int] = {}
        for tab in range(5):
            if tab:
                evaluate(f"document.querySelectorAll('[role=tab]')[{tab}].click()")
            while (drawn := evaluate(DRAWN_CHARTS)) is None or drawn < 1 or not chart_data_settled(browser, loaded):
                assert time.monotonic() < deadline, f"tab {tab}: charts not drawn within {RENDER_TIMEOUT:.0f} s"
                browser.send("Runtime.evaluate", {"expression": "1"}, session=session)  # read pending events
                time.sleep(1)
            if tab == 0:
                time.sleep(2)  # the heatmap's and bars' animations end
                shot = browser.send("Page.captureScreenshot", {"format": "png"}, session=session)
                (tmp_path / "dashboard.png").write_bytes(base64.b64decode(shot["data"]))
        while set(loaded) != chart_ids and time.monotonic() < deadline:
            browser.send("Runtime.evaluate", {"expression": "1"}, session=session)
            chart_data_settled(browser, loaded)
            time.sleep(1)
        alerts = evaluate("[...document.querySelectorAll('.ant-alert-error')].map(e => e.innerText)")
        events = list(browser.events)
    finally:
        browser.close()

    assert set(loaded) == chart_ids, f"charts whose data the dashboard never asked for: {chart_ids - set(loaded)}"
    assert {chart: status for chart, status in loaded.items() if status != 200} == {}
    assert alerts == []
    errors = [json.dumps(event["params"])[:500] for event in events if is_console_error(event)]
    assert [error for error in errors if TELEMETRY not in error] == []
    screenshot = (tmp_path / "dashboard.png").read_bytes()
    assert screenshot.startswith(b"\x89PNG") and len(screenshot) > 30_000  # a drawn dashboard, not a blank page
    if os.environ.get("UPDATE_DOCS") == "1":
        SCREENSHOT.write_bytes(screenshot)


DRAWN_CHARTS = (
    "[...document.querySelectorAll('.chart-container')].filter(c => c.offsetParent !== null"
    " && c.querySelector('canvas, svg, table')).length"
)


def chart_data_settled(browser: Browser, loaded: dict[int, int]) -> bool:
    """Record the status of each chart's data request answered so far (by slice_id); true when none is pending."""
    requested, answered = set(), set()
    for event in browser.events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Network.requestWillBeSent" and "/api/v1/chart/data" in params["request"]["url"]:
            requested.add(params["requestId"])
        elif method == "Network.responseReceived" and "/api/v1/chart/data" in params["response"]["url"]:
            answered.add(params["requestId"])
            slice_id = re.search(r"slice_id%22%3A(\d+)", params["response"]["url"])
            if slice_id:
                loaded[int(slice_id[1])] = params["response"]["status"]
    return bool(requested) and requested <= answered


def is_console_error(event: dict) -> bool:
    method, params = event.get("method"), event.get("params", {})
    return (
        method == "Runtime.exceptionThrown"
        or (method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"))
        or (method == "Log.entryAdded" and params["entry"]["level"] == "error")
    )


# ---------------------------------------------------------------- superset export


def test_export_writes_back_exactly_the_repository_bundle(
    superset: Superset, lakehouse: Lakehouse, tmp_path: Path
) -> None:
    """Exported from the Superset the bundle was imported into, the bundle is the repository's, file for file: a
    file changed by hand is written back, one the export does not hold is removed, the connection keeps its address."""
    bundle = tmp_path / "bundle"
    shutil.copytree(BUNDLE, bundle)
    [chart] = [path for path in (bundle / "charts").glob("*.yaml") if "Recommended_tracks" in path.name]
    chart.write_text(chart.read_text().replace("Recommended tracks", "Renamed by hand"))
    (bundle / "charts" / "Deleted_in_the_UI.yaml").write_text("slice_name: gone\n")

    exported = lakehouse.cli(
        "superset", "export", "--url", superset.url, "--bundle", str(bundle),
        env={"SUPERSET_ADMIN_USERNAME": superset.username, "SUPERSET_ADMIN_PASSWORD": superset.password},
        timeout=REQUEST_TIMEOUT * 2,
    )  # fmt: skip
    assert exported.returncode == 0, exported.stderr[-3000:]
    assert "Exported 1 dashboard(s)" in exported.stdout
    assert f"written: charts/{chart.name}" in exported.stdout
    assert "removed: charts/Deleted_in_the_UI.yaml" in exported.stdout
    assert superset.password not in exported.stdout + exported.stderr

    def files(root: Path) -> dict[str, str]:
        return {path.relative_to(root).as_posix(): path.read_text() for path in sorted(root.rglob("*.yaml"))}

    assert files(bundle) == files(BUNDLE)

    refused = lakehouse.cli(
        "superset", "export", "--url", superset.url, "--bundle", str(bundle),
        env={"SUPERSET_ADMIN_USERNAME": superset.username, "SUPERSET_ADMIN_PASSWORD": "not-the-password"},
        timeout=REQUEST_TIMEOUT,
    )  # fmt: skip
    assert refused.returncode == 1
    assert f"Superset at {superset.url} answered POST /api/v1/security/login with HTTP 401" in refused.stderr


# ---------------------------------------------------------------- one source of truth, and the compose service


def bundle_tables() -> list[str]:
    """The tables the bundle's datasets read, as ``schema.table``: a physical dataset's own, and those a virtual one
    (SQL) selects from."""
    tables = []
    for config in bundle_files("datasets").values():
        if config["sql"]:
            tables += re.findall(r"\bfrom\s+([a-z_]+\.[a-z_]+)", config["sql"], flags=re.IGNORECASE)
        else:
            tables.append(f"{config['schema']}.{config['table_name']}")
    return sorted(set(tables))


def test_the_dbt_exposure_names_exactly_the_bundles_tables(lakehouse: Lakehouse) -> None:
    """dbt resolves the exposure (so `dbt docs` draws it in the lineage) to the models and sources behind the tables
    the bundle's datasets read: Silver and Gold as models, the pipeline's own tables (quality, ops) as sources."""
    listed = lakehouse.dbt("ls", "--resource-type", "exposure", "--output", "json", "--output-keys", "name depends_on")
    assert listed.returncode == 0, listed.stdout[-3000:]
    [exposure] = [json.loads(line) for line in listed.stdout.splitlines() if line.startswith("{")]
    assert exposure["name"] == "superset_listening_dashboard"
    dbt_tables = []
    for node in exposure["depends_on"]["nodes"]:
        kind, _, *path = node.split(".")
        dbt_tables.append(f"{path[0]}.{path[1]}" if kind == "source" else f"{model_schema(path[0])}.{path[0]}")
    assert sorted(dbt_tables) == bundle_tables()
    assert len(bundle_tables()) == len(bundle_files("datasets")) - 1  # the transitions dataset reads mood sessions


def model_schema(model: str) -> str:
    """The schema a model builds into: its folder under models/ or python_models/ (dbt_project.yml's +schema)."""
    [path] = [p for root in ("models", "python_models") for p in (REPO / root).rglob(f"{model}.*") if p.suffix in
              (".sql", ".py")]  # fmt: skip
    return path.parent.name


def test_compose_service_runs_the_provisioning_the_tests_run() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    service = compose["services"]["superset"]
    assert service["profiles"] == ["superset"]
    assert service["ports"] == ["127.0.0.1:8088:8088"]
    assert "superset_home" in compose["volumes"] and "superset_home:/app/superset_home" in service["volumes"]
    assert {"path": ".env", "required": False} in service["env_file"]
    env = service["environment"]
    for secret in ("SUPERSET_SECRET_KEY", "SUPERSET_ADMIN_USERNAME", "SUPERSET_ADMIN_PASSWORD"):
        assert secret not in env, f"{secret} must come from .env, never from the compose file"
    mounts = dict(volume.rsplit(":", 2)[:2] if volume.count(":") == 2 else volume.split(":") for volume in
                  service["volumes"])  # fmt: skip
    assert (
        mounts["./superset"]
        == str(Path(env["SUPERSET_CONFIG_PATH"]).parent)
        == str(Path(env["SUPERSET_BUNDLE"]).parent)
    )
    assert Path(env["SUPERSET_CONFIG_PATH"]).name == "superset_config.py"
    assert Path(env["LAKEHOUSE_SECRET_FILE"]).parent.as_posix() == mounts["./data/lakehouse"]
    assert (env["LAKEHOUSE_HOST"], env["THRIFT_PORT"]) == ("spark", "10000")
    assert "127.0.0.1:10000:10000" in compose["services"]["spark"]["ports"]
    assert service["command"][-1].startswith(f"python {mounts['./superset']}/provision.py && exec ")
    assert service["depends_on"]["spark"]["condition"] == "service_healthy"
    database = yaml.safe_load(next((BUNDLE / "databases").glob("*.yaml")).read_text())
    assert database["sqlalchemy_uri"] == "hive://superset@spark:10000/default?auth=CUSTOM"


def test_image_and_driver_pins_are_the_lock_pins() -> None:
    lock = dict(re.findall(r"^([a-z0-9-]+)==(\S+)", (REPO / "superset" / "requirements.lock").read_text(), re.M))
    dockerfile = (REPO / "superset" / "Dockerfile").read_text()
    assert re.search(r"^FROM apache/superset:(\S+)$", dockerfile, re.M)[1] == lock["apache-superset"]
    pinned = dict(re.findall(r"\b([a-z-]+)==(\S+)", dockerfile))
    assert pinned == {name: lock[name] for name in ("pyhive", "pure-sasl", "thrift", "thrift-sasl")}
