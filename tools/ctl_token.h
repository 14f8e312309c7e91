/* kadrctl token: mints an access token for paid media. */
#ifndef KADR_TOOLS_CTL_TOKEN_H
#define KADR_TOOLS_CTL_TOKEN_H

/* Runs "token OPTIONS..." (argv[0] is "token"). Returns the exit
 * status. */
int ctl_token_main(int argc, char **argv);

#endif
