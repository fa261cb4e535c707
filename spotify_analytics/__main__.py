"""The command line: ``spotify-analytics`` (the console script) and ``python -m spotify_analytics``, both through
``faults.run`` (a lakehouse fault ends a command with one line, not a traceback)."""

from spotify_analytics.cli.faults import run
from spotify_analytics.cli.main import app


def main() -> None:
    run(app)


if __name__ == "__main__":
    main()
