"""spotcheck.adapters."""
