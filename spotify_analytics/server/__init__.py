"""The lakehouse server: its process (start, stop, status) and the command line that starts its JVM."""
