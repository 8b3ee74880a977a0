"""Descriptive figures and checks of stored sessions: summary, on the blocks, checks, mat facts."""
