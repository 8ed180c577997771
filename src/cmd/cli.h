/* cli.h: what rendezvous-cli's command files share. */
#ifndef RDV_CLI_H
#define RDV_CLI_H

/* Prints "rendezvous-cli: <message>" to stderr; returns 1 (the failure exit status). */
__attribute__((format(printf, 1, 2))) int cli_fail(const char *fmt, ...);

int cli_cmd_register(int argc, char **argv);
int cli_cmd_discover(int argc, char **argv);
int cli_cmd_unregister(int argc, char **argv);
int cli_cmd_identify(int argc, char **argv);
int cli_cmd_ping(int argc, char **argv);
/* cli_client.c: built on librendezvous's public API */
int cli_cmd_advertise(int argc, char **argv);
int cli_cmd_find(int argc, char **argv);

#endif
