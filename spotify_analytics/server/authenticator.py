"""The Thrift port's authentication class, ``auth/SecretAuthenticator.java``, compiled for the server's class path.

HiveServer2 authenticates a ``CUSTOM`` client with a Java class of ours (``hive.server2.custom.authentication.class``).
It is compiled from its source in the repository with Janino, the Java compiler Spark ships for its own code
generation (``janino`` and ``commons-compiler`` in pyspark's jars, command-line entry point ``CompilerDemo``), so a
Java runtime suffices (the image installs no JDK) and no compiled binary is kept in git. The classes land in
``.cache/server-auth/<digest>/``, the digest covering the source and the Spark version, so an edit or an upgrade
compiles anew; ``server fetch-jars`` (``make setup``, the image build) compiles them, and a server start that finds
none does.
"""

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from ingest.config import Settings
from ingest.lakehouse.client import ServerError

SOURCE = Path(__file__).parent / "auth" / "SecretAuthenticator.java"
CLASS_NAME = "spotify_analytics.server.auth.SecretAuthenticator"
CACHE = Path(".cache/server-auth")
COMPILER_MAIN = "org.codehaus.commons.compiler.samples.CompilerDemo"
COMPILE_SECONDS = 120.0


def _jar(jars: Path, prefix: str) -> Path:
    found = sorted(jars.glob(f"{prefix}-[0-9]*.jar"))
    if not found:
        raise ServerError(f"pyspark's jars in {jars} hold no {prefix}-*.jar: reinstall pyspark (make setup)")
    return found[-1]


def _java() -> str:
    home = os.environ.get("JAVA_HOME")
    return str(Path(home) / "bin" / "java") if home else "java"


def classes_dir(settings: Settings) -> Path:
    digest = hashlib.sha256(SOURCE.read_bytes() + settings.spark_version.encode()).hexdigest()[:16]
    return settings.path(CACHE) / digest


def compiled(settings: Settings, spark_jars: Path) -> Path:
    """The folder holding the compiled class (for the driver's class path), compiled now when missing."""
    target = classes_dir(settings)
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".compiling-", dir=target.parent))
    compiler = os.pathsep.join(str(_jar(spark_jars, name)) for name in ("janino", "commons-compiler"))
    interface = _jar(spark_jars, "spark-hive-thriftserver_2.13")
    command = [_java(), "-cp", compiler, COMPILER_MAIN, "-d", str(scratch), "-classpath", str(interface), str(SOURCE)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=COMPILE_SECONDS, check=False)
        if done.returncode != 0:
            raise ServerError(f"Compiling {SOURCE} failed:\n{(done.stdout + done.stderr)[-3000:]}")
        try:
            scratch.rename(target)
        except OSError:  # compiled meanwhile by another start
            if not target.is_dir():
                raise
    except subprocess.TimeoutExpired:
        raise ServerError(f"Compiling {SOURCE} took more than {COMPILE_SECONDS:.0f} s") from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target
