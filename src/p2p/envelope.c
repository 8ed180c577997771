/* envelope.c: to be written */
