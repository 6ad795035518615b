"""spotcheck.schemas."""
