/* Commands still being written. */
#include <stdio.h>

#include "auditor/cli_util.h"

int cli_check_sct(int argc, char **argv, int json)
{
    (void)argc; (void)argv; (void)json;
    fprintf(stderr, "arbor-audit: check-sct: not available yet\n");
    return CLI_FAIL;
}

int cli_witness(int argc, char **argv, int json)
{
    (void)argc; (void)argv; (void)json;
    fprintf(stderr, "arbor-audit: witness: not available yet\n");
    return CLI_FAIL;
}
