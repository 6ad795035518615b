"""The audit trail, its signed checkpoints, and their verification."""
