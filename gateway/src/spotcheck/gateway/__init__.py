"""spotcheck.gateway."""
