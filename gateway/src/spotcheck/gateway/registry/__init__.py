"""Who takes part: authorities, entrustments, platforms and their keys, merchants, manufacturers."""
