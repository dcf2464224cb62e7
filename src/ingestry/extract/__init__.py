"""Pure converters from received bytes to record drafts; no I/O."""
