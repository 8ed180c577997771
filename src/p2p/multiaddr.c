/* multiaddr.c: to be written */
