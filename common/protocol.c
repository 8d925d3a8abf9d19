#include "protocol.h"

#include <stddef.h>
#include <string.h>

#include "banned.h"

const char *const protocol_env_vars[] = {
	"GOOS",	      "GOARCH",	     "GO386",	    "GOAMD64",	 "GOARM",
	"GOARM64",    "GOMIPS",	     "GOMIPS64",    "GOPPC64",	 "GORISCV64",
	"GOWASM",     "GOEXPERIMENT", "GOROOT",	    "GOCOMPILEDEBUG", "GOSSAFUNC",
	"GOSSADIR",   "GOCLOBBERDEADHASH", "GOFIPS140", "GODEBUG", NULL,
};

int protocol_env_allowed(const char *name)
{
	for (size_t i = 0; protocol_env_vars[i]; i++)
		if (strcmp(name, protocol_env_vars[i]) == 0)
			return 1;
	return 0;
}
