"""Tests of the transcript store."""
