/* memory.c: to be written */
