/* peerid.c: to be written */
