"""A local worker, as the chief starts it: `python -m fitsweep.search.parallel --run-dir ... --chief ...`."""

from fitsweep.search.parallel._worker import main

main()
