from ingest.evaluation.cli import evaluation_app

evaluation_app()
