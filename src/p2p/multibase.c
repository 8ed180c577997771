/* multibase.c: to be written */
