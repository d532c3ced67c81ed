"""MNIST loading, partitioners, the CNN, training, model vectors, image inputs.

OpenMP threads that wait for one another sleep instead of spinning, unless the
environment says otherwise (``OMP_WAIT_POLICY``). Torch's kernels run in lock step
across their threads; on a machine shared with other busy processes a spinning thread
burns the time slice that the thread it waits for needs. Training on 2,000 MNIST images
here at load average 10: two spinning threads 19-21 s, two passive threads 2.8-4.3 s,
one thread 2.7-2.9 s. OpenMP reads the variable once, when torch loads, so it is set
here, before any module of this package imports torch.
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
