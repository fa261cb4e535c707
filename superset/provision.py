"""Provision Superset for the lakehouse's dashboards: its metadata database, the admin, its roles, and the
dashboards of ``superset/bundle`` imported: the connection, datasets, charts and dashboard, each overwriting the one
of the same uuid that an earlier start imported (``superset import-dashboards`` would keep an older chart or dataset).

Run by the ``superset`` compose service before its web server, and by the tests, with the Python that has
Superset installed (``python superset/provision.py``). It reads (never logs) from the environment:

- ``SUPERSET_ADMIN_USERNAME``, ``SUPERSET_ADMIN_PASSWORD``, ``SUPERSET_ADMIN_EMAIL`` (optional): the admin, created
  when missing;
- ``LAKEHOUSE_HOST``, ``THRIFT_PORT``: where Superset reaches the lakehouse server's Thrift port (the bundle's
  connection is rewritten to them at import);
- ``SUPERSET_BUNDLE`` (default: the ``bundle`` folder next to this file);
- ``SUPERSET_STEP_TIMEOUT``: seconds each ``superset`` command may take (default 600).

Only the standard library and PyYAML (which Superset brings) are imported, so it runs in Superset's image as is.
"""

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import yaml

log = logging.getLogger("provision")
BUNDLE = Path(os.environ.get("SUPERSET_BUNDLE", Path(__file__).resolve().parent / "bundle"))
IMPORT_STEP = "import-bundle"


def main() -> None:
    if sys.argv[1:] == [IMPORT_STEP]:
        import_bundle(os.environ["SUPERSET_ADMIN_USERNAME"])
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    admin = {name: os.environ.get(f"SUPERSET_ADMIN_{name.upper()}", "") for name in ("username", "password")}
    missing = [f"SUPERSET_ADMIN_{name.upper()}" for name, value in admin.items() if not value]
    if missing or not os.environ.get("SUPERSET_SECRET_KEY"):
        sys.exit(f"error: set {', '.join([*missing, 'SUPERSET_SECRET_KEY'][: len(missing) + 1])} (e.g. in .env)")
    email = os.environ.get("SUPERSET_ADMIN_EMAIL", f"{admin['username']}@localhost")
    superset("db", "upgrade")
    superset(
        "fab", "create-admin", "--username", admin["username"], "--password", admin["password"],
        "--firstname", "Superset", "--lastname", "Admin", "--email", email,
        shown="fab create-admin --username " + admin["username"],
    )  # fmt: skip
    superset("init")
    run([sys.executable, __file__, IMPORT_STEP], f"import of {BUNDLE}")
    log.info("Imported the dashboards of %s", BUNDLE)


def lakehouse_address() -> str:
    return f"{os.environ.get('LAKEHOUSE_HOST', 'spark')}:{os.environ.get('THRIFT_PORT', '10000')}"


def bundle_contents(bundle: Path, address: str) -> dict[str, str]:
    """The bundle's files by their path in it, as Superset's asset import reads them: every database connection
    pointed at ``address`` (host:port), the metadata typed ``assets`` (so everything is overwritten)."""
    if not (bundle / "metadata.yaml").is_file():
        sys.exit(f"error: {bundle} is no Superset bundle (it has no metadata.yaml)")
    contents = {path.relative_to(bundle).as_posix(): path.read_text() for path in sorted(bundle.rglob("*.yaml"))}
    for name in contents:
        if name.startswith("databases/"):
            contents[name] = with_address(contents[name], address)
    metadata = yaml.safe_load(contents["metadata.yaml"])
    contents["metadata.yaml"] = yaml.safe_dump({**metadata, "type": "assets"})
    return contents


def import_bundle(username: str) -> None:
    """Import the bundle in this process, inside Superset's application, as ``username``."""
    from superset.app import create_app

    with create_app().app_context():
        from superset import security_manager
        from superset.commands.importers.v1.assets import ImportAssetsCommand
        from superset.utils.core import override_user

        with override_user(security_manager.find_user(username=username)):
            ImportAssetsCommand(bundle_contents(BUNDLE, lakehouse_address())).run()


def with_address(database_yaml: str, address: str) -> str:
    config = yaml.safe_load(database_yaml)
    url = urlsplit(config["sqlalchemy_uri"])
    user = url.netloc.rpartition("@")[0]
    config["sqlalchemy_uri"] = urlunsplit(url._replace(netloc=f"{user}@{address}" if user else address))
    return yaml.safe_dump(config, sort_keys=False)


def superset(*args: str, shown: str | None = None) -> None:
    """Run ``superset ARGS`` (``shown``: its words without secrets)."""
    executable = shutil.which("superset", path=str(Path(sys.executable).parent)) or "superset"
    run([executable, *args], f"superset {shown or ' '.join(args)}")


def run(command: list[str], shown: str) -> None:
    """Run ``command`` to its end, or exit naming it (``shown``) with the end of what it printed."""
    timeout = float(os.environ.get("SUPERSET_STEP_TIMEOUT", "600"))
    log.info("%s", shown)
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        sys.exit(f"error: `{shown}` did not end within {timeout:.0f} s")
    if done.returncode != 0:
        sys.exit(f"error: `{shown}` failed (exit code {done.returncode}):\n{done.stderr[-3000:]}")


if __name__ == "__main__":
    main()
