"""Hook adapters: where and how a convention's hook programs run."""
