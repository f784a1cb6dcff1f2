"""`python -m cnnlab` runs the cnnlab command."""
import sys

from .cli import main

sys.exit(main())
