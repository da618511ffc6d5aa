"""escalator: activities room (see ../shared/DESIGN.md)."""
