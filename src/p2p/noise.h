/* noise.h: to be written */
#ifndef RDV_NOISE_H
#define RDV_NOISE_H
#endif
