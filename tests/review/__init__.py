"""Tests of instructor review: transcripts, analysis, reports."""
