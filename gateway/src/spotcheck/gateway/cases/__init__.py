"""The case lifecycle: opening a case and driving it from purchase to close."""
