"""Process mining over the canonical event frame: the real paths, rework, what predicts failure.

Everything here is computed from the frame :func:`escalator.detectors.readers.read_log` produces,
so `escalator mine` sees exactly the events `detect` sees.
"""
