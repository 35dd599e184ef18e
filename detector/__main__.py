"""`python -m detector` runs the command line."""

from detector.cli import app

app(prog_name="cdr-detector")
