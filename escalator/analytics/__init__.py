"""escalator: analytics room (see ../shared/DESIGN.md)."""
