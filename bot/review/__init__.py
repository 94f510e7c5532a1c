"""Instructor review: transcripts (list, show, export, notes, retention), analysis and reports."""
