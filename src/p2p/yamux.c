/* yamux.c: to be written */
