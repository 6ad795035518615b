"""Evidence files of a case, stored by SHA-256."""
