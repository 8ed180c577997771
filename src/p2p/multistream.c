/* multistream.c: to be written */
