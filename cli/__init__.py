"""The `narrator` command line: a thin shell over the narration core and the voice catalogue."""
