"""Error types mapped to exit codes by the CLI."""


class BadInput(Exception):
    """Bad user input (dataset, class names, non-finite loss): exit code 2, not retryable."""
