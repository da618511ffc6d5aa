"""escalator: workflows room (see ../shared/DESIGN.md)."""
