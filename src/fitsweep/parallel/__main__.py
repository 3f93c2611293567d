"""A local worker, as the chief starts it: `python -m fitsweep.parallel --run-dir ... --chief ...`."""

from fitsweep.parallel._worker import main

main()
