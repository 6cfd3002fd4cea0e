"""Generator of filled forms and their ground truth."""
