from spotify_analytics.cli.main import app

app()
