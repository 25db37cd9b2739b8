"""City-scale performance suite: ``python -m benchmarks [--sizes 10000,100000,1000000]``.

Separate from the test suite on purpose: timings belong in a results file, not in
assertions. Every step runs in a fresh subprocess (:mod:`benchmarks.steps`) so its peak
memory (``ru_maxrss``) is its own, and every project figure is set against a baseline
measured in the same run on the same file. The last results go to
``benchmarks/RESULTS.md``.
"""
