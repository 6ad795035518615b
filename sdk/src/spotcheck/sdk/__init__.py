"""spotcheck.sdk."""
