"""The search: KerasTuner's tuner over fitsweep's trials (`engine`), a run from its folder to its last
table (`runner`), its progress display (`progress`), Ctrl-C and SIGTERM (`interruption`), and the
same search over many processes or machines (`parallel`).

Nothing is imported here, so that `fitsweep.search.interruption` stays free of TensorFlow.
"""
