"""What a source loads, declared where the source defines it (as a dlt resource declares its own): the name it
lands under, the key of its records, the cursor an incremental run starts from, and how it writes.

Write dispositions, as dlt names them, plus the landing zone's own:
- ``write-once``: a landing file is written once, atomically, under a name that is its identity (a checksum, a
  timestamp, an id), and never rewritten; landing again what is there is a no-op;
- ``merge``: rows are upserted by ``key`` into a Bronze table (reruns change nothing);
- ``replace``: the table holds the last full snapshot of its input.
"""

from dataclasses import dataclass
from typing import Literal

WriteDisposition = Literal["write-once", "merge", "replace"]


@dataclass(frozen=True)
class Resource:
    name: str  # the folder (landing) or table (Bronze) it writes
    key: tuple[str, ...]  # what identifies one record
    write_disposition: WriteDisposition
    cursor: str | None = None  # the field the next run starts after; None: not incremental by a cursor
    incremental: str = ""  # how a rerun avoids work, in one sentence, where the cursor alone does not say
