"""The five rule kinds: pure functions from an event frame (as of a moment) to firings."""
