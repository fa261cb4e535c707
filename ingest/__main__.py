from ingest.cli import app

app()
