/* yamux.h: to be written */
#ifndef RDV_YAMUX_H
#define RDV_YAMUX_H
#endif
