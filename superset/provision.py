"""Provision Superset for the lakehouse's dashboards: its metadata database, the admin, its roles, and the
dashboards of ``superset/bundle`` imported: the connection, datasets, charts and dashboard, each overwriting the one
of the same uuid that an earlier start imported (``superset import-dashboards`` would keep an older chart or dataset).

Run by the ``superset`` compose service before its web server, and by the tests, with the Python that has
Superset installed (``python superset/provision.py``). It reads (never logs, never passes on a command line) from
the environment:

- ``SUPERSET_ADMIN_USERNAME``, ``SUPERSET_ADMIN_PASSWORD``, ``SUPERSET_ADMIN_EMAIL`` (optional): the admin, created
  when missing;
- ``LAKEHOUSE_HOST``, ``THRIFT_PORT``: where Superset reaches the lakehouse server's Thrift port (the bundle's
  connection is rewritten to them at import);
- ``SUPERSET_BUNDLE`` (default: the ``bundle`` folder next to this file);
- ``SUPERSET_STEP_TIMEOUT``: seconds each ``superset`` command may take (default 600).

Besides Superset itself, only the standard library and PyYAML (which Superset brings) are imported, so it runs in
Superset's image as is.
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
IN_APP_STEP = "admin-and-bundle"
REQUIRED = ("SUPERSET_SECRET_KEY", "SUPERSET_ADMIN_USERNAME", "SUPERSET_ADMIN_PASSWORD")


def main() -> None:
    if sys.argv[1:] == [IN_APP_STEP]:
        admin_and_bundle()
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    missing = [name for name in REQUIRED if not os.environ.get(name)]
    if missing:
        sys.exit(f"error: set {', '.join(missing)} (in .env or the environment); nothing was provisioned")
    superset("db", "upgrade")
    superset("init")
    run([sys.executable, __file__, IN_APP_STEP], f"admin and import of {BUNDLE}")
    log.info("Imported the dashboards of %s", BUNDLE)


def admin_and_bundle() -> None:
    """In this process, inside Superset's application: the admin created when missing (its password read from the
    environment, never put on a command line, which every account can read), then the bundle imported as the admin."""
    from superset.app import create_app

    with create_app().app_context():
        from superset import security_manager
        from superset.commands.importers.v1.assets import ImportAssetsCommand
        from superset.extensions import db
        from superset.utils.core import override_user

        username = os.environ["SUPERSET_ADMIN_USERNAME"]
        admin = security_manager.find_user(username=username)
        if admin is None:
            admin = security_manager.add_user(
                username, "Superset", "Admin", os.environ.get("SUPERSET_ADMIN_EMAIL", f"{username}@localhost"),
                security_manager.find_role("Admin"), password=os.environ["SUPERSET_ADMIN_PASSWORD"],
            )  # fmt: skip
            if not admin:
                sys.exit(f"error: Superset could not create the admin {username}")
            db.session.commit()
            log.info("Created the admin %s", username)
        with override_user(admin):
            ImportAssetsCommand(bundle_contents(BUNDLE, lakehouse_address())).run()


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


def with_address(database_yaml: str, address: str) -> str:
    config = yaml.safe_load(database_yaml)
    url = urlsplit(config["sqlalchemy_uri"])
    user = url.netloc.rpartition("@")[0]
    config["sqlalchemy_uri"] = urlunsplit(url._replace(netloc=f"{user}@{address}" if user else address))
    return yaml.safe_dump(config, sort_keys=False)


def superset(*args: str) -> None:
    executable = shutil.which("superset", path=str(Path(sys.executable).parent)) or "superset"
    run([executable, *args], f"superset {' '.join(args)}")


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
