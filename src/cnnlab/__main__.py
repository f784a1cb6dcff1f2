"""`python -m cnnlab` runs the cnnlab command."""
from cnnlab.cli import run

run()
