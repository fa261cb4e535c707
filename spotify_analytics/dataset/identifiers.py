"""Columns a dataset never holds: direct identifiers of a person or a device.

Listener names are never stored (rows carry a salted-hash pseudonym), and the importer drops the privacy
export's ``username``, ``ip_addr*`` and ``user_agent_decrypted``; should any such column reach Silver or Gold,
the export leaves it out, and with it ``platform`` (a device model string, e.g. "Android OS 9 (samsung, SM-G960F)"),
``context_uri`` (an old playlist URI holds its owner's Spotify user name: ``spotify:user:<name>:playlist:…``) and
the local paths of landed files (``landing_file``, ``source_file``: a home folder names its user).
"""

import re

DIRECT_IDENTIFIER = re.compile(
    r"(^|_)(user_?name|listener_name|ip_addr\w*|ip_address|user_agent\w*|platform|context_uri|landing_file|"
    r"source_file|email)$",
    re.IGNORECASE,
)


def is_direct_identifier(column: str) -> bool:
    return DIRECT_IDENTIFIER.search(column) is not None
