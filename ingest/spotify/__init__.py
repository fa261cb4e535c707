"""Spotify Web API access: OAuth tokens, our own backoff, recently-played polling, metadata."""
