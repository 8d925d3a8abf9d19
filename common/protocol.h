#ifndef GODISTCC_PROTOCOL_H
#define GODISTCC_PROTOCOL_H
/*
 * Wire protocol constants shared by the shim and the daemon. The protocol
 * itself is described in PROTOCOL at the top of the tree; bump
 * PROTOCOL_VERSION on any incompatible change.
 */

#define PROTOCOL_VERSION 1
#define PROTOCOL_HEADER "X-Godistcc-Protocol"

#define GODISTCC_VERSION "0.1.0"
#define GODISTCC_DEFAULT_PORT 3633
#define GODISTCC_DEFAULT_DISPATCHER "http://127.0.0.1:3633"

/* Routes. */
#define ROUTE_HEALTH "/v1/health"
#define ROUTE_STATUS "/v1/status"
#define ROUTE_JOB "/v1/job"
#define ROUTE_TOOLCHAIN_PREFIX "/v1/toolchains/"
#define ROUTE_CLUSTER "/v1/cluster"
#define ROUTE_JOIN "/v1/join"

/* On a job a dispatcher forwards: the receiver runs it itself, never
 * forwards it again (no loops between dispatchers). */
#define FORWARDED_HEADER "X-Godistcc-Forwarded"

/* Bundle entry names. */
#define ENTRY_MANIFEST "manifest.json"
#define ENTRY_RESULT "result.json"
#define ENTRY_STDOUT "stdout"
#define ENTRY_STDERR "stderr"
#define ENTRY_BLOB_PREFIX "blob/"
#define ENTRY_OUT_PREFIX "out/"

/* Caps on what a peer controls; checked before allocating. */
#define JOB_MAX_BYTES (512u << 20)	    /* request body of POST /v1/job */
#define JOB_MAX_DECOMPRESSED (1024u << 20) /* all entries of a job bundle */
#define JOB_MAX_ENTRIES 20000u		    /* entries in a job bundle */
#define MANIFEST_MAX_BYTES (8u << 20)	    /* manifest.json */
#define MANIFEST_MAX_FILES 20000u	    /* files in one manifest */
#define MANIFEST_MAX_ARGS 20000u	    /* tool arguments in one manifest */
#define MANIFEST_MAX_ENV 64u		    /* environment variables */
#define PATH_MAX_BYTES 4096u		    /* one path or argument */
#define TOOLCHAIN_MAX_BYTES (512u << 20)  /* one uploaded tool binary */
#define TOOLCHAIN_UPLOADS_MAX 8u	    /* toolchain uploads in progress at once */
#define OUTPUT_MAX_BYTES (1024u << 20)    /* all output files of one job */
#define JOIN_MAX_BYTES (4u << 10)	    /* body of POST /v1/join */
#define STREAM_MAX_BYTES (64u << 20)	    /* captured stdout or stderr */
#define RESULT_MAX_BYTES (1u << 20)	    /* result.json */
/* A GET /v1/cluster document (or the local socket's answer to the cluster
 * request): 256 hosts listing 1024 toolchains each come to about 18 MB. */
#define CLUSTER_MAX_BYTES (32u << 20)

/*
 * Environment variables that affect what compile and asm produce. Only these
 * travel with a job, and a job runs with only these (plus PWD and TMPDIR).
 */
extern const char *const protocol_env_vars[];
/* Whether name is one of protocol_env_vars. */
int protocol_env_allowed(const char *name);

#endif
