"""Models of the studio app."""
