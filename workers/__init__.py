"""escalator: workers room (see ../shared/DESIGN.md)."""
