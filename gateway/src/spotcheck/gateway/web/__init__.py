"""HTTP plumbing every capability's controllers share: dependencies, problems, middleware, OpenAPI."""
