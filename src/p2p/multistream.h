/* multistream.h: to be written */
#ifndef RDV_MULTISTREAM_H
#define RDV_MULTISTREAM_H
#endif
