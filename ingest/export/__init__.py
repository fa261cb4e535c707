"""Spotify privacy-export import: files, folders or the downloaded zip → sanitised landing files."""
