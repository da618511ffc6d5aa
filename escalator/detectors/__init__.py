"""escalator: detectors room (see ../shared/DESIGN.md)."""
