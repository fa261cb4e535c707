"""Superset's configuration for the lakehouse's dashboards, read by the compose service and the tests alike
(``SUPERSET_CONFIG_PATH`` names this file). Every value comes from the environment; nothing secret is written here.

- ``SUPERSET_SECRET_KEY``: signs sessions and encrypts what Superset stores (required).
- ``SUPERSET_METADATA_URI``: Superset's own metadata database (default: SQLite under ``SUPERSET_HOME``).
- ``LAKEHOUSE_SECRET_FILE``: the lakehouse secret (``data/lakehouse/secret``), read at every connection to the
  Thrift port as the password of its ``CUSTOM`` login, never stored in Superset's database.
"""

import copy
import os
import sys
from pathlib import Path

from sqlalchemy.engine.url import URL

SECRET_KEY = os.environ["SUPERSET_SECRET_KEY"]
SQLALCHEMY_DATABASE_URI = os.environ.get(
    "SUPERSET_METADATA_URI", f"sqlite:///{Path(os.environ.get('SUPERSET_HOME', '/app/superset_home')) / 'superset.db'}"
)
LAKEHOUSE_SECRET_FILE = Path(os.environ.get("LAKEHOUSE_SECRET_FILE", "/app/data/lakehouse/secret"))


def lakehouse_password(url: URL) -> str | None:
    """The Thrift login's password: the lakehouse secret, read when Superset connects (so a new secret needs no
    change in Superset); other connections keep their own."""
    if url.get_backend_name() == "hive":
        return LAKEHOUSE_SECRET_FILE.read_text().strip()
    return url.password


SQLALCHEMY_CUSTOM_PASSWORD_STORE = lakehouse_password


def without_telemetry(policy: dict) -> dict:
    """Superset's content security policy without its telemetry host: the pixel every page of 6.1.0's frontend loads
    from scarf.sh (the PyPI build has it on) is refused by the browser, so using the dashboards tells no one."""
    csp = copy.deepcopy(policy)
    csp["content_security_policy"]["img-src"] = [
        source for source in csp["content_security_policy"]["img-src"] if "scarf.sh" not in source
    ]
    return csp


# Superset's defaults: superset.config reads this file at its end, so its module is there, half imported.
TALISMAN_CONFIG = without_telemetry(sys.modules["superset.config"].TALISMAN_CONFIG)
