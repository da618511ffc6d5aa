"""escalator: records room (see ../shared/DESIGN.md)."""
