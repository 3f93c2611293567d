"""`python -m fitsweep` runs the command line."""

from fitsweep.cli import main

main()
