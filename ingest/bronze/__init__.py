"""Bronze Delta tables: DDL and idempotent loads through Spark Connect."""
