"""Pure model: no I/O, standard library only."""
