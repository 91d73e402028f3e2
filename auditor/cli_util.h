/* Small helpers shared by the auditor's command handlers (private). */
#ifndef ARB_AUDITOR_CLI_UTIL_H
#define ARB_AUDITOR_CLI_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

/* Reads a whole file (NUL-terminated; free()). NULL with errno set. */
uint8_t *cli_read_file(const char *path, size_t *len_out);
/* Reads a log's key file for --key: a PEM public key as it is, or a PEM
 * private key (arbord's log-key.pem) reduced to its public key. NULL after a
 * message on stderr. free() the result. */
uint8_t *cli_read_key(const char *path, size_t *len_out);
/* Prints a JSON object on one line to stdout and drops the reference. */
void cli_print_json(json_t *o);
/* Unix time in milliseconds. */
uint64_t cli_now_ms(void);
/* Parses a decimal unsigned integer; 1 on success. */
int cli_parse_u64(const char *s, uint64_t *out);

int cli_verify_evidence(int argc, char **argv, int json);
int cli_verify_sth(int argc, char **argv, int json);
int cli_check_sct(int argc, char **argv, int json);
int cli_witness(int argc, char **argv, int json);
int cli_follow(int argc, char **argv, int json);
int cli_cosign(int argc, char **argv, int json);
int cli_verify_name(int argc, char **argv, int json);
int cli_verify_anchored(int argc, char **argv, int json);

#endif
