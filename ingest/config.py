"""All configuration in one place: environment variables and an optional ``.env`` file.

Paths are resolved against the project directory (``PROJECT_DIR``, default: the working directory),
so the CLI, dbt and the lakehouse server agree on where ``data/`` is.
"""

import importlib.metadata
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SCALA_VERSION = "2.13"


class ConfigError(RuntimeError):
    """A setting is missing or invalid; the message names it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    project_dir: Path = Field(default_factory=Path.cwd, description="Folder holding dbt_project.yml.")
    data_dir: Path = Field(Path("data"), description="Root of the lakehouse: bronze, silver, gold, metastore.")
    kaggle_csv: Path = Field(
        Path("data/kaggle/dataset.csv"),
        description="Kaggle 'Spotify Tracks Dataset' CSV; when absent the demo generates a catalog.",
    )
    ivy_dir: Path = Field(Path(".cache/ivy"), description="Project-local Ivy cache for the Delta jars.")

    spark_master: str = Field("local[2]", description="Spark master of the lakehouse server.")
    spark_driver_memory: str = Field("2g", description="Driver memory of the lakehouse server.")
    spark_shuffle_partitions: int = Field(4, ge=1)
    lakehouse_bind_host: str = Field("127.0.0.1", description="Address the server's ports bind to.")
    lakehouse_host: str = Field("127.0.0.1", description="Address clients use to reach the server.")
    spark_driver_host: str = Field(
        "",
        description="Address a cluster's executors reach the driver at (empty: 127.0.0.1 on a local master, "
        "else this machine's host name).",
    )
    thrift_port: int = Field(10000, ge=1, le=65535)
    connect_port: int = Field(15002, ge=1, le=65535)
    thrift_statement_threads: int = Field(
        8,
        ge=2,
        description="Threads of the Thrift server's statement pool; one checks for idle sessions, the others "
        "run statements (more wait in its queue).",
    )
    server_start_timeout: float = Field(240.0, gt=0, description="Seconds to wait for both ports.")
    lakehouse_command_timeout: float = Field(
        3 * 3600.0,
        gt=0,
        description="Seconds one command (a load, a check, the report) may work on the lakehouse server in all; "
        "past it its operations are interrupted and it ends (ingest.lakehouse.watchdog).",
    )
    export_chunk_rows: int = Field(
        200_000,
        gt=0,
        description="Rows `export-dataset` reads through Spark Connect at a time (bounds the server's and its own "
        "memory: read whole, a 1M-play Silver exhausts a 2 GiB driver).",
    )
    writer_stop_timeout: float = Field(
        120.0,
        gt=0,
        description="Seconds a Bronze writer waits for the server to confirm that what a killed writer left "
        "running has ended; past it the writer stops, writing nothing, and says what to do.",
    )

    # Operations (issue 7): the pipeline command and the scheduler container's cron schedules.
    pipeline_start_server: bool = Field(
        True, description="pipeline starts the server when none answers; false where it runs elsewhere (compose)."
    )
    pipeline_step_timeout: float = Field(3 * 3600.0, gt=0, description="Seconds one pipeline step may take.")
    pipeline_schedule: str = Field("0 */6 * * *", description="Cron schedule of the full pipeline.")
    poll_schedule: str = Field("*/30 * * * *", description="Cron schedule of poll (the API keeps only 50 plays).")

    # Upkeep (spotify_analytics.maintenance): what the pipeline's maintain step keeps.
    time_travel_days: int = Field(
        7,
        ge=7,
        description="Days of every Delta table's history kept readable (history, restore, time travel); VACUUM "
        "never deletes a file a version younger than this reads (7 is Delta's own floor).",
    )

    # Data quality gate: severities and thresholds live in a TOML file (spotify_analytics/quality/expectations.toml).
    quality_config: Path = Field(
        Path("spotify_analytics/quality/expectations.toml"),
        description="TOML with the quality gate's severities and coverage thresholds.",
    )

    # Spotify ingest (issue 3). Secrets are SecretStr: never printed, never logged.
    client_id: str = Field("", description="Spotify app client id (empty: poll/auth are skipped).")
    client_secret: SecretStr = Field(SecretStr(""), description="Spotify app client secret.")
    redirect_uri: str = Field("http://127.0.0.1:8888/callback", description="Loopback redirect URI of the app.")
    spotify_user: str = Field("me", description="Local name of the listener whose tokens/cursors are used.")
    spotify_api_base_url: str = Field("https://api.spotify.com/v1/", description="Web API base (tests: fake).")
    spotify_accounts_url: str = Field("https://accounts.spotify.com", description="Accounts service base URL.")
    spotify_request_timeout: float = Field(10.0, gt=0, description="Seconds per Spotify HTTP request.")
    spotify_max_retries: int = Field(4, ge=0, description="Retries of a 5xx/timeout before giving up.")
    spotify_backoff_cap: float = Field(
        60.0, ge=0, description="Longest Retry-After we wait (s); past it the run stops and resumes next time."
    )
    spotify_search_max_per_run: int = Field(
        500, ge=0, description="Most Spotify searches one load makes for classic-export plays (the rest: next run)."
    )
    audio_features_retry_after: float = Field(
        7 * 24 * 3600.0, ge=0, description="Seconds to stop asking audio-features after a 403."
    )
    # Superset (docs/superset.md): where `superset export` reads the dashboards from, and as whom.
    superset_url: str = Field("http://127.0.0.1:8088", description="Base URL of the running Superset.")
    superset_admin_username: str = Field("admin", description="Superset account that exports the dashboards.")
    superset_admin_password: SecretStr = Field(SecretStr(""), description="That account's password.")
    superset_bundle: Path = Field(
        Path("superset/bundle"), description="The dashboards as code: Superset's export format, as YAML."
    )
    superset_request_timeout: float = Field(120.0, gt=0, description="Seconds per request to Superset.")

    timezone: str = Field("UTC", description="The listener's IANA timezone (Silver's local time; exports are UTC).")
    allow_synthetic: bool = Field(True, description="Generate synthetic audio features for tracks without any.")
    user_id_salt: str = Field("spotify-analytics", description="Salt of the pseudonymous user_id hash.")

    @field_validator("project_dir")
    @classmethod
    def _absolute_project_dir(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("pipeline_schedule", "poll_schedule")
    @classmethod
    def _cron_schedule(cls, value: str) -> str:
        from ingest.cron_schedule import check_schedule

        return check_schedule(value)

    def path(self, value: Path) -> Path:
        """A configured path made absolute against the project directory."""
        value = value.expanduser()
        return value if value.is_absolute() else self.project_dir / value

    @property
    def data_path(self) -> Path:
        return self.path(self.data_dir)

    @property
    def quality_path(self) -> Path:
        """Great Expectations' context (gx/) and the Data Docs (docs/)."""
        return self.data_path / "quality"

    @property
    def server_dir(self) -> Path:
        return self.data_path / "lakehouse"

    @property
    def spark_version(self) -> str:
        import pyspark

        return pyspark.__version__

    @property
    def delta_package(self) -> str:
        """Maven coordinates of the Delta jar matching the installed pyspark and delta-spark."""
        major_minor = ".".join(self.spark_version.split(".")[:2])
        delta_version = importlib.metadata.version("delta-spark")
        return f"io.delta:delta-spark_{major_minor}_{SCALA_VERSION}:{delta_version}"

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA timezone {value!r}") from None
        return value

    @property
    def landing_path(self) -> Path:
        return self.data_path / "landing"

    @property
    def ingest_state_path(self) -> Path:
        """Per-user tokens, cursors, caches: private to the ingester, mode 0700."""
        return self.data_path / "state"

    @property
    def connect_url(self) -> str:
        return f"sc://{self.lakehouse_host}:{self.connect_port}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Load settings once; a bad value raises ConfigError naming the setting."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc']).upper()}: {err['msg']}" for err in exc.errors())
        raise ConfigError(f"Invalid configuration: {problems}") from None
