/* peer_record.c: to be written */
