"""The Spotify privacy-export source: files, folders or the downloaded zip → sanitised landing files. Resource
``export`` (``importer.PRIVACY_EXPORT``: key listener + sha256, write-once); files are recognised by their records'
shape (``kinds``), read from folders and zips (``files``) and parsed (``parse``).
"""
