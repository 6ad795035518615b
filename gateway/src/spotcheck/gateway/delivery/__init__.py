"""The outbox and its delivery: claims, routing through adapters, guards, recording, the worker."""
