/* The auditor's own subcommands of arbor-audit (follow, witness,
 * verify-evidence, check-sct, verify-sth). arbor-audit.c lists them in its
 * command table and hands them over here. */
#ifndef ARB_AUDITOR_CLI_H
#define ARB_AUDITOR_CLI_H

/* Runs the subcommand named argv[0]. json: --json was given before the
 * command. Returns the exit status: 0 ok, 1 a check failed / bad input,
 * 2 usage. */
int arb_audit_cli_main(int argc, char **argv, int json);

#endif
