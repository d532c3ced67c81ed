"""fedring's benchmark suite: ``python -m benchmarks [compare|sweep|micro|all]``.

``compare`` runs fedring and Flower (plain and secure) side by side on the same data,
model, partitions and rounds; ``sweep`` repeats that at 3, 10 and 30 accounts with small
partitions; ``micro`` runs the component benchmarks (``bench_*.py``) found beside this
file. Every result is printed as one JSON object per line, and a markdown report with
plots is written to ``benchmarks/out/`` (``--docs`` also refreshes ``docs/performance.md``).
"""
