/* noise.c: to be written */
