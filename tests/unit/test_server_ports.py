"""Whether the lakehouse server itself listens on a port (``server start`` waits for that, not for an open port)."""

import os
import socket
import subprocess

from spotify_analytics.server import process as server


def test_a_port_counts_only_for_the_process_that_listens_on_it() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        other = subprocess.Popen(["sleep", "30"])
        try:
            assert server.process_listens(os.getpid(), "127.0.0.1", port)
            assert not server.process_listens(other.pid, "127.0.0.1", port)
        finally:
            other.kill()
            other.wait()
    assert not server.process_listens(os.getpid(), "127.0.0.1", port)  # closed
