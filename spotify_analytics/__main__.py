from spotify_analytics.cli.faults import run
from spotify_analytics.cli.main import app

run(app)
