"""Who a command means: a listener name or a pseudonym, to the pseudonym; and the one-way hash the audit keeps."""

import hashlib
import re

from ingest.config import Settings
from ingest.demo import DEMO_USER, REMOVE_COMMAND
from ingest.spotify.users import pseudonymous_user_id

PSEUDONYM = re.compile(r"^u_[0-9a-f]{16}$")
AUDIT_HASH_PREFIX = "withdrawn-participant|"


class NotAParticipant(ValueError):
    """The name cannot be withdrawn this way (the generated demo listener)."""


def pseudonym_of(settings: Settings, name_or_pseudonym: str) -> str:
    """The pseudonym a name stands for (``u_`` + 16 hex digits as given, else the name's salted hash)."""
    given = name_or_pseudonym.strip()
    if given == DEMO_USER:
        raise NotAParticipant(f"'{DEMO_USER}' is the generated demo listener, not a participant: {REMOVE_COMMAND}")
    return given if PSEUDONYM.match(given) else pseudonymous_user_id(settings, given)


def audit_hash(pseudonym: str) -> str:
    """A one-way hash of the pseudonym: the audit recognises a repeated withdrawal without keeping the pseudonym."""
    return hashlib.sha256(f"{AUDIT_HASH_PREFIX}{pseudonym}".encode()).hexdigest()
