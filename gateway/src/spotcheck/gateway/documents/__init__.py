"""Official documents (文书): numbered, signed PDFs a bureau serves with its notices (the opinion's 参考式样)."""
