"""The signed intake of platform replies."""
